"""Calls to remote OpenAI-compatible servers, shared by every tab that makes them.

One set of rules for where a call goes, with which key, what a visitor may learn from a
failure, and what the operator's key may spend:

- `connection.resolve_connection(typed_url, typed_key, settings, ...) -> Connection`: the base
  URL and key of a call. A key typed in the UI goes to the URL the visitor chose; the operator's
  `OPENAI_API_KEY` goes only to the operator's base URL (`--openai-base-url`, else OpenAI's).
  `Connection.typed_url` says the URL is the visitor's, not the operator's.
- `client.openai_client(connection, settings, timeout=...)`: the official `openai.OpenAI` client
  for one call (close it after). For a visitor-typed URL on an exposed app (see
  `Settings.is_exposed`) its transport checks every address a host name resolves to and
  connects only to a checked one (`addresses.GuardedBackend`), so loopback, private, link-local
  (cloud metadata), shared, multicast and reserved addresses are refused however they are
  spelled, and DNS rebinding cannot swap the address between the check and the connect.
  `OPENAI_ORG_ID` / `OPENAI_PROJECT_ID` go only to the operator's base URL.
- `errors.translate_error(exc, connection, model, timeout_s) -> BackendError`: an openai
  exception as a message saying what to do. From a visitor-typed server it quotes only the
  status code and the `error.message` of an OpenAI-shaped body; never the key.
- `spend.SpendLedger.reserve(worst_usd, settings, session_spent=...)`: a context manager that
  reserves a call's worst case against the per-session and total caps and, on every way out,
  either keeps what `hold.settle(actual_usd)` recorded or gives the reservation back.
"""

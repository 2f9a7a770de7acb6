"""Chat: the message list made visible.

A chat model is stateless: each call sends the whole `messages` list, and the "memory" is the
application resending the conversation, which costs tokens every turn. This package runs one
turn against any backend (OpenAI, an OpenAI-compatible server, the local model), and says
what was sent, what it cost and how full the context window is. It knows nothing of Gradio.

- `backends`: one interface, three backends; where the key and base URL come from; errors.
- `usage`: tokens (from the API, else counted), cost from LiteLLM's map, the context window.
- `conversation`: the messages to send, fitting them into the context, export, copy as code.
- `turn`: one turn, streamed; the operator's spend caps.
"""

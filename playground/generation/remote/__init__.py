"""The Generate tab on a serving engine: OpenAI or any OpenAI-compatible server (vLLM, SGLang,
llama.cpp server, TGI, Ollama, LM Studio), with each token's probability and top-5 from the
server's logprobs.

- `stream.generate_remote(request, config, settings, stop=..., session_spent=...)`: the same
  `GenerationRequest` as the local engine, streamed as `RemoteUpdate`s (a `GenerationUpdate` with
  the server, the prompt's tokens where offered, and notes on what the server lacks).
- `logprobs`: the chat, completions-echo and vLLM `prompt_logprobs` formats → `TokenStep`s.
- `render`: the prompt's tokens as chips.
"""

"""The baseline for bench/startup.py: a Gradio app with one textbox, launched the same way."""

import sys

import gradio as gr

with gr.Blocks() as demo:
    gr.Textbox(label="text")

demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))

// The chat template of the byte-level vocabulary (the built-in model and
// `model synth` files): ChatML turns with tools in the Hermes / Qwen2.5
// style, so that chat, tools and tool calls work without a download. It is
// checked against Python's jinja2 like the downloaded templates
// (tests/jinja/templates_test.cpp).
#include "runtime/synthetic.hpp"

namespace radixrt::runtime {

std::string_view byte_vocab_chat_template() {
    return R"jinja({#- radixrt's built-in chat template: ChatML turns; tools and tool calls in
    the Hermes / Qwen2.5 style (<tools> in the system turn, <tool_call>
    blocks in assistant turns, <tool_response> blocks in a user turn). -#}
{%- if messages and messages[0].role == 'system' -%}
  {%- set system = messages[0].content -%}
  {%- set turns = messages[1:] -%}
{%- else -%}
  {%- set system = '' -%}
  {%- set turns = messages -%}
{%- endif -%}
{%- if system or tools -%}
  {{- '<|im_start|>system\n' + (system or '') -}}
  {%- if tools -%}
    {{- '\n\n' if system else '' -}}
    {{- 'You can call these tools; their signatures are in <tools></tools>, one per line:\n<tools>' -}}
    {%- for tool in tools -%}
      {{- '\n' + (tool | tojson) -}}
    {%- endfor -%}
    {{- '\n</tools>\nTo call a tool, answer with a JSON object naming it and giving its arguments, inside <tool_call></tool_call>:\n<tool_call>\n{"name": <tool name>, "arguments": <arguments as an object>}\n</tool_call>' -}}
  {%- endif -%}
  {{- '<|im_end|>\n' -}}
{%- endif -%}
{%- for m in turns -%}
  {%- if m.role == 'assistant' -%}
    {{- '<|im_start|>assistant\n' + (m.content or '') -}}
    {%- for call in m.tool_calls or [] -%}
      {%- set f = call.function if call.function is defined else call -%}
      {%- set args = f.arguments if f.arguments is string else (f.arguments | tojson) -%}
      {{- '\n' if (m.content or not loop.first) else '' -}}
      {{- '<tool_call>\n{"name": ' + (f.name | tojson) + ', "arguments": ' + args + '}\n</tool_call>' -}}
    {%- endfor -%}
    {{- '<|im_end|>\n' -}}
  {%- elif m.role == 'tool' -%}
    {%- if loop.first or turns[loop.index0 - 1].role != 'tool' -%}
      {{- '<|im_start|>user' -}}
    {%- endif -%}
    {{- '\n<tool_response>\n' + (m.content or '') + '\n</tool_response>' -}}
    {%- if loop.last or turns[loop.index0 + 1].role != 'tool' -%}
      {{- '<|im_end|>\n' -}}
    {%- endif -%}
  {%- else -%}
    {{- '<|im_start|>' + m.role + '\n' + (m.content or '') + '<|im_end|>\n' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- '<|im_start|>assistant\n' -}}
{%- endif -%}
)jinja";
}

} // namespace radixrt::runtime

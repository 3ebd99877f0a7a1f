// The official OpenAI Node SDK (the version pinned in package.json) against
// a running `radixrt serve` on the built-in model: the ecosystem's own
// client checking the server. Run by tests/sdk/run.sh, which starts the
// server and sets RADIXRT_BASE_URL.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import OpenAI from 'openai';

const baseURL = process.env.RADIXRT_BASE_URL;
assert.ok(baseURL, 'RADIXRT_BASE_URL is not set (tests/sdk/run.sh sets it)');
const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });
const user = (content) => [{ role: 'user', content }];

// Waits for a condition with a deadline (no fixed sleeps).
async function waitFor(what, cond, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

const weather = {
  type: 'object',
  properties: {
    city: { type: 'string', maxLength: 12 },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
  },
  required: ['city', 'unit'],
  additionalProperties: false,
};

// The keywords the schemas here use, checked independently of the server.
function conforms(v, schema) {
  if (schema.enum) return schema.enum.includes(v);
  if (schema.type === 'string') return typeof v === 'string' && [...v].length <= (schema.maxLength ?? Infinity);
  if (schema.type === 'integer') return Number.isInteger(v) && v >= (schema.minimum ?? -Infinity) && v <= (schema.maximum ?? Infinity);
  if (schema.type === 'object') {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    for (const k of schema.required ?? []) if (!(k in v)) return false;
    for (const [k, x] of Object.entries(v)) {
      if (!(k in schema.properties)) return false;
      if (!conforms(x, schema.properties[k])) return false;
    }
    return true;
  }
  return false;
}

test('models.list and models.retrieve; an unknown model is a NotFoundError', async () => {
  const list = await client.models.list();
  assert.ok(list.data.length >= 1);
  const id = list.data[0].id;
  const one = await client.models.retrieve(id);
  assert.equal(one.id, id);
  await assert.rejects(client.models.retrieve('no-such-model'), (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
});

test('typed errors carry the status and the field', async () => {
  await assert.rejects(
    client.chat.completions.create({ messages: user('hi'), temperature: 9 }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'temperature',
  );
  await assert.rejects(
    client.chat.completions.create({ messages: user('hi'), model: 'gpt-4o' }),
    (e) => e instanceof OpenAI.NotFoundError,
  );
});

test('structured output: json_schema through chat.completions.parse, and json_object', async () => {
  const person = {
    type: 'object',
    properties: { name: { type: 'string', maxLength: 10 }, age: { type: 'integer', minimum: 0, maximum: 120 } },
    required: ['name', 'age'],
    additionalProperties: false,
  };
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.parse({
      messages: user('A person as JSON'),
      max_tokens: 300,
      seed,
      response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: person } },
    });
    const choice = r.choices[0];
    assert.equal(choice.finish_reason, 'stop');
    assert.ok(conforms(choice.message.parsed, person), JSON.stringify(choice.message.parsed));
  }
  const o = await client.chat.completions.create({
    messages: user('Any JSON object'),
    max_tokens: 200,
    response_format: { type: 'json_object' },
    logit_bias: { [String(3 + '}'.charCodeAt(0))]: 4 }, // the built-in model: byte b is token 3 + b
  });
  if (o.choices[0].finish_reason === 'stop') {
    const v = JSON.parse(o.choices[0].message.content);
    assert.equal(typeof v, 'object');
  }
});

test('forced tool calls parse and satisfy the schema, also through parse()', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', strict: true, parameters: weather } }];
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.parse({
      messages: user('Weather in Oslo?'),
      tools,
      tool_choice: 'required',
      parallel_tool_calls: false,
      max_tokens: 300,
      seed,
    });
    const choice = r.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.ok(conforms(call.function.parsed_arguments, weather), call.function.arguments);
  }
});

test('streamed tool calls assemble in ChatCompletionStream', async () => {
  const stream = client.chat.completions.stream({
    messages: user('Weather in Rome?'),
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: weather } }],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    parallel_tool_calls: false,
    max_tokens: 300,
    seed: 7,
  });
  const done = [];
  stream.on('tool_calls.function.arguments.done', (e) => done.push(e));
  const final = await stream.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.ok(call.id);
  assert.equal(call.function.name, 'get_weather');
  assert.ok(conforms(JSON.parse(call.function.arguments), weather), call.function.arguments);
  assert.equal(done.length, 1);
  assert.equal(done[0].arguments, call.function.arguments);
});

test('logprobs in chat and completions', async () => {
  const chat = await client.chat.completions.create({
    messages: user('Hello'),
    max_tokens: 6,
    logprobs: true,
    top_logprobs: 2,
  });
  const content = chat.choices[0].logprobs.content;
  assert.equal(content.length, chat.usage.completion_tokens);
  for (const t of content) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 2);
    assert.ok(Array.isArray(t.bytes));
  }
  const c = await client.completions.create({ prompt: 'Once upon', max_tokens: 4, logprobs: 2, echo: true, temperature: 0 });
  const lp = c.choices[0].logprobs;
  assert.equal(lp.token_logprobs[0], null); // the first prompt token has none
  assert.ok(lp.tokens.length > 4);
  assert.ok(c.choices[0].text.startsWith('Once upon'));
});

test('the same seed gives the same text', async () => {
  const ask = (seed) => client.chat.completions.create({ messages: user('Tell a story'), max_tokens: 12, temperature: 1, seed });
  const [a, b] = await Promise.all([ask(42), ask(42)]);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.ok(a.system_fingerprint);
});

async function cancelled() {
  const text = await (await fetch(`${baseURL.replace(/\/v1$/, '')}/metrics`)).text();
  const m = text.match(/radixrt_requests_total\{endpoint="\/v1\/chat\/completions",outcome="cancelled"\} (\d+)/);
  return m ? Number(m[1]) : 0;
}

test('an aborted stream counts as cancelled', async () => {
  const before = await cancelled();
  const controller = new AbortController();
  const stream = await client.chat.completions.create(
    { messages: user('Write a long story'), max_tokens: 2000, stream: true, ignore_eos: true },
    { signal: controller.signal },
  );
  let chunks = 0;
  for await (const chunk of stream) { // the SDK ends the iteration quietly on abort
    assert.ok(chunk.choices);
    if (++chunks === 2) controller.abort();
  }
  assert.ok(chunks >= 2 && chunks < 2000, `${chunks} chunks`); // what was buffered, then the end
  await waitFor('the cancelled count to rise', async () => (await cancelled()) > before);
});

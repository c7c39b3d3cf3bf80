// What a waiting task waits for, and the answer form of a task waiting for input: drawn from the
// question's JSON Schema when it is an object of strings, enums, numbers and booleans, otherwise a
// JSON textarea. The server checks the answer against the schema; its message is shown as it is.

const el = (tag, props = {}) => Object.assign(document.createElement(tag), props);
const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
const primitive = (value) => ['string', 'number', 'boolean'].includes(typeof value);
const when = (iso) => new Date(iso).toLocaleString();

/** `for input`, `sleeping until <time>`, `for 3 spawned tasks`: what `waiting` (the API's key) says. */
export function describeWait(waiting) {
  if (waiting.kind === 'input') return 'for input';
  if (waiting.kind === 'sleep') return `sleeping until ${when(waiting.until)}`;
  const n = waiting.task_ids?.length ?? 0;
  return `for ${n} spawned task${n === 1 ? '' : 's'}`;
}

/** The fields of a schema the form can draw (every property a string, enum, number or boolean), else null. */
function fieldsOf(schema) {
  if (!isObject(schema) || schema.type !== 'object' || !isObject(schema.properties)) return null;
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const fields = [];
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (!isObject(prop)) return null;
    const kind =
      Array.isArray(prop.enum) && prop.enum.length > 0 && prop.enum.every(primitive)
        ? 'enum'
        : ['string', 'number', 'integer', 'boolean'].includes(prop.type)
          ? prop.type
          : null;
    if (!kind) return null;
    fields.push({ name, prop, kind, required: required.has(name) });
  }
  return fields.length > 0 ? fields : null;
}

/** One labelled control; `read()` gives its value, `undefined` to leave an empty optional field out. */
function control({ name, prop, kind, required }) {
  const label = el('label', { className: `field f-${kind}` });
  label.append(el('span', { textContent: prop.title ?? name }));
  if (required) label.append(el('span', { className: 'req', textContent: '*', title: 'required' }));
  let input;
  let read;
  if (kind === 'boolean') {
    input = el('input', { type: 'checkbox', checked: prop.default === true });
    read = () => input.checked;
  } else if (kind === 'enum') {
    input = el('select');
    if (!required) input.append(el('option', { value: '', textContent: '—' }));
    prop.enum.forEach((value, i) => input.append(el('option', { value: String(i), textContent: String(value) })));
    const preset = prop.enum.indexOf(prop.default);
    if (preset >= 0) input.value = String(preset);
    read = () => (input.value === '' ? undefined : prop.enum[Number(input.value)]);
  } else {
    const numeric = kind !== 'string';
    input = el('input', { type: numeric ? 'number' : 'text', required });
    if (kind === 'integer') input.step = '1';
    else if (numeric) input.step = 'any';
    if (prop.default !== undefined) input.value = String(prop.default);
    read = () => {
      if (input.value === '') return required && !numeric ? '' : undefined;
      return numeric ? Number(input.value) : input.value;
    };
  }
  input.name = name;
  label.append(input);
  if (typeof prop.description === 'string') label.append(el('small', { textContent: prop.description }));
  return { label, read };
}

/**
 * The form answering `task` (status `input_required`, its `waiting` a question): submitting it
 * calls `onAnswer(taskId, input)` (tasks.resume); a refusal is shown in the form as the server
 * worded it. `dataset.task` and `dataset.key` name the question, so a panel redrawn meanwhile keeps
 * a half-filled form.
 */
export function answerForm(task, onAnswer) {
  const { key, schema } = task.waiting;
  const form = el('form', { className: 'answer' });
  Object.assign(form.dataset, { task: task.id, key });
  const fields = fieldsOf(schema);
  let read;
  if (fields) {
    const controls = fields.map(control);
    form.append(...controls.map((c) => c.label));
    read = () => {
      const answer = {};
      fields.forEach((field, i) => {
        const value = controls[i].read();
        if (value !== undefined) answer[field.name] = value;
      });
      return answer;
    };
  } else {
    const area = el('textarea', { name: 'json', rows: 5, spellcheck: false, value: '{}' });
    form.append(el('label', { className: 'field', textContent: 'answer (JSON)' }), area);
    if (schema) form.append(el('pre', { className: 'schema', textContent: JSON.stringify(schema, null, 2) }));
    read = () => {
      try {
        return JSON.parse(area.value);
      } catch (error) {
        throw new Error(`The answer is not JSON: ${error.message}`);
      }
    };
  }
  const problem = el('p', { className: 'answer-error', hidden: true });
  problem.setAttribute('role', 'alert');
  const send = el('button', { type: 'submit', textContent: 'Answer' });
  form.append(problem, send);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hidden = true;
    send.disabled = true;
    try {
      await onAnswer(task.id, read());
      form.dataset.sent = 'true';
      send.textContent = 'Answered';
    } catch (error) {
      problem.textContent = error instanceof Error ? error.message : String(error);
      problem.hidden = false;
      send.disabled = false;
    }
  });
  return form;
}

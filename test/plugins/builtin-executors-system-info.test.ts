import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, test } from 'node:test';
import { testApp } from '../helpers.ts';
import { runOne, completed, failed } from './builtin-executors-setup.ts';

describe('system_info_executor', () => {
  interface Cpu {
    system: string;
    architecture: string;
    brand: string;
    cores: number;
    threads: number;
    load_average: number[];
  }
  interface Memory {
    total_bytes: number;
    available_bytes: number;
    used_bytes: number;
    percent_used: number;
  }
  interface Disk {
    path: string;
    total_bytes: number;
    free_bytes: number;
    used_bytes: number;
    percent_used: number;
  }

  const checkCpu = (cpu: Cpu) => {
    assert.equal(cpu.system, os.platform());
    assert.equal(cpu.architecture, os.arch());
    assert.equal(typeof cpu.brand, 'string');
    assert.ok(Number.isInteger(cpu.cores) && cpu.cores >= 1, `cores ${cpu.cores}`);
    assert.ok(Number.isInteger(cpu.threads) && cpu.threads >= 1, `threads ${cpu.threads}`);
    assert.equal(cpu.load_average.length, 3);
    for (const load of cpu.load_average) assert.ok(load >= 0);
  };
  const checkMemory = (memory: Memory) => {
    assert.ok(memory.total_bytes > 0);
    assert.ok(memory.available_bytes >= 0 && memory.available_bytes <= memory.total_bytes);
    assert.equal(memory.used_bytes, memory.total_bytes - memory.available_bytes);
    assert.ok(memory.percent_used >= 0 && memory.percent_used <= 100);
  };
  const checkDisk = (disk: Disk) => {
    assert.equal(typeof disk.path, 'string');
    assert.ok(disk.total_bytes > 0);
    assert.ok(disk.free_bytes >= 0 && disk.free_bytes <= disk.total_bytes);
    assert.equal(disk.used_bytes, disk.total_bytes - disk.free_bytes);
    assert.ok(disk.percent_used >= 0 && disk.percent_used <= 100);
  };

  test('cpu, memory and disk report real values of this machine', async (t) => {
    const app = await testApp(t);
    checkCpu(completed<Cpu>(await runOne(app, 'system_info_executor', { resource: 'cpu' })));
    checkMemory(completed<Memory>(await runOne(app, 'system_info_executor', { resource: 'memory' })));
    checkDisk(completed<Disk>(await runOne(app, 'system_info_executor', { resource: 'disk' })));
  });

  test('all (the default) reports the three together', async (t) => {
    const app = await testApp(t);
    for (const inputs of [{}, { resource: 'all' }]) {
      const all = completed<{ cpu: Cpu; memory: Memory; disk: Disk }>(
        await runOne(app, 'system_info_executor', inputs),
      );
      assert.deepEqual(Object.keys(all).sort(), ['cpu', 'disk', 'memory']);
      checkCpu(all.cpu);
      checkMemory(all.memory);
      checkDisk(all.disk);
    }
  });

  test('an unknown resource fails the task before it runs, naming the input', async (t) => {
    const app = await testApp(t);
    const error = failed(await runOne(app, 'system_info_executor', { resource: 'gpu' }));
    assert.match(error, /^Invalid inputs for executor 'system_info_executor': .*resource/);
  });
});

test('the built-in executors are listed by system.executors, each with its input schema', async (t) => {
  const app = await testApp(t);
  const response = await app.inject({
    method: 'POST',
    url: '/system',
    payload: { jsonrpc: '2.0', id: 1, method: 'system.executors' },
  });
  assert.equal(response.statusCode, 200);
  const { executors } = response.json().result as {
    executors: { id: string; name: string; description: string; source: string; input_schema: unknown }[];
  };
  const inputs: Record<string, string[]> = {
    system_info_executor: ['resource'],
    aggregate_results_executor: [],
    rest_executor: ['url', 'method', 'headers', 'params', 'json', 'data', 'timeout', 'auth'],
    command_executor: ['command', 'timeout'],
    websocket_executor: ['url', 'message', 'messages', 'wait_response', 'timeout', 'headers', 'messages_until'],
    scrape_executor: ['url', 'selector', 'format', 'max_bytes', 'timeout', 'include_links', 'user_agent'],
    apflow_api_executor: [
      'base_url',
      'method',
      'params',
      'auth_token',
      'use_streaming',
      'wait_for_completion',
      'poll_interval',
      'timeout',
      'headers',
    ],
  };
  for (const [id, names] of Object.entries(inputs)) {
    const entry = executors.find((executor) => executor.id === id);
    assert.ok(entry, `${id} is listed`);
    assert.equal(entry.source, 'plugin:builtin-executors');
    assert.ok(entry.name && entry.description, `${id} has a name and a description`);
    const properties = (entry.input_schema as { properties?: Record<string, unknown> } | null)?.properties ?? {};
    for (const name of names) assert.ok(name in properties, `${id}: ${name} is in its input_schema`);
  }
});

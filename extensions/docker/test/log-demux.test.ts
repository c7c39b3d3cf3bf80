/**
 * The Engine's multiplexed log stream, split and capped. The frames are built here byte by byte
 * as the Engine sends them (8-byte header, payload), cut at awkward places.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LogDemuxer } from '../src/log-demux.ts';

/** One frame: stream (1 stdout, 2 stderr), three zero bytes, the payload's size, the payload. */
function frame(stream: number, payload: Buffer | string, announced?: number): Buffer {
  const bytes = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(announced ?? bytes.length, 4);
  return Buffer.concat([header, bytes]);
}

describe('docker_executor log stream', () => {
  test('frames cut anywhere, headers included, come out split by stream and in order', () => {
    const stream = Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'more é\n')]);
    const demuxer = new LogDemuxer(1024);
    for (const byte of stream) demuxer.push(Buffer.from([byte]));
    assert.deepEqual(demuxer.result(), {
      stdout: 'out\nmore é\n',
      stderr: 'err\n',
      logs: 'out\nerr\nmore é\n',
      truncated: false,
    });
  });

  test('a huge frame is capped as it arrives, not buffered whole first', () => {
    const demuxer = new LogDemuxer(1024);
    // A frame announcing 1 GiB, of which 4 KiB have come so far.
    demuxer.push(frame(1, 'x'.repeat(4096), 1024 ** 3));
    assert.equal(demuxer.full, true, 'the limit is reached inside the frame');
    const result = demuxer.result();
    assert.equal(result.stdout, 'x'.repeat(1024));
    assert.equal(result.truncated, true);
  });

  test('a character cut by the limit is dropped; a real U+FFFD at the end stays', () => {
    const cut = new LogDemuxer(1024);
    cut.push(frame(1, `${'a'.repeat(1023)}é and more`));
    assert.equal(cut.result().stdout, 'a'.repeat(1023), 'half of é is not shown as U+FFFD');
    const real = new LogDemuxer(1024);
    real.push(frame(1, `${'a'.repeat(1021)}\uFFFD and more`));
    const result = real.result();
    assert.equal(result.truncated, true);
    assert.equal(result.stdout, `${'a'.repeat(1021)}\uFFFD`, 'the container wrote U+FFFD: it is kept');
  });

  test('a stream ending inside a frame counts as truncated', () => {
    const demuxer = new LogDemuxer(1024);
    demuxer.push(frame(2, 'partial', 100));
    assert.deepEqual(demuxer.result(), { stdout: '', stderr: 'partial', logs: 'partial', truncated: true });
  });
});

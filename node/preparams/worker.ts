/**
 * Worker thread that generates GG18 pre-params (four safe primes, seconds each) off the main
 * event loop, at low CPU priority. Each request yields one encoded item, transferred (not copied)
 * to the parent.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { encodePreParams, generatePreParams } from '../../common/protocols/gg18/preparams.ts';

try {
  setPriority(0, 10); // Linux: applies to this thread only; signing latency comes first.
} catch {
  // not permitted here: run at normal priority
}

parentPort!.on('message', () => {
  const bytes = encodePreParams(generatePreParams());
  parentPort!.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
});

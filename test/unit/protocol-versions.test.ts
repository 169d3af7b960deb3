/**
 * Instance protocol versioning: the control plane drives every supported version and sends a
 * request only to an instance whose protocol has it (an older engine bundle gets no prepare-task).
 */
import { expect, it } from 'vitest';
import { PROTOCOL_VERSION, REQUEST_SINCE, requestSupported, SUPPORTED_PROTOCOL_VERSIONS } from '../../src/instance/protocol.js';

it('supports its own protocol and the one before it', () => {
  expect(SUPPORTED_PROTOCOL_VERSIONS).toContain(PROTOCOL_VERSION);
  expect(SUPPORTED_PROTOCOL_VERSIONS).toContain(1);
  for (const since of Object.values(REQUEST_SINCE)) expect(since).toBeLessThanOrEqual(PROTOCOL_VERSION);
});

it('sends prepare-task only to instances speaking protocol 2 or later', () => {
  expect(requestSupported(1, 'prepare-task')).toBe(false);
  expect(requestSupported(2, 'prepare-task')).toBe(true);
  for (const type of ['start-task', 'stop-task', 'reload-tables', 'test-connection'] as const) expect(requestSupported(1, type)).toBe(true);
});

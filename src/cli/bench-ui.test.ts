/** `dekag bench ui`'s arithmetic: which long tasks count for a session, and its blocking time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summariseLongTasks } from './bench-ui.js';

test('bench ui counts only the long tasks that start within the session, blocking time past 50 ms each', () => {
  const tasks = [
    { start: 5, duration: 400 }, // before Start: page load, not the session's
    { start: 100, duration: 60 },
    { start: 150, duration: 120 },
    { start: 200, duration: 51 }, // starts at t1: still the session's
    { start: 201, duration: 900 }, // after 'done'
  ];
  assert.deepEqual(summariseLongTasks(tasks, 100, 200), { long_tasks: 3, longest_task_ms: 120, blocking_ms: 10 + 70 + 1 });
  assert.deepEqual(summariseLongTasks(tasks, 300, 400), { long_tasks: 0, longest_task_ms: 0, blocking_ms: 0 });
});

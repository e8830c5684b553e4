import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { startApp, type Running } from '../helpers/app.js';

/**
 * The Grafana dashboard in the repository is built on series the server has: every metric its
 * queries name is one /metrics declares (a renamed series fails here, not in an operator's Grafana).
 */
const DATASOURCE_VARIABLE = ['$', '{datasource}'].join('');

describe('grafana/botbridge-dashboard.json', () => {
  let store: TestStore;
  let running: Running;
  before(async () => {
    store = await freshStore(STORES[0]);
    running = await startApp(store, { logLevel: 'warn' });
  });
  after(async () => {
    await running?.close();
    await store?.dispose();
  });

  it('queries only series /metrics declares, through its datasource variable', async () => {
    const dashboard = JSON.parse(readFileSync('grafana/botbridge-dashboard.json', 'utf8'));
    const text = await (await fetch(`${running.url}/metrics`)).text();
    const declared = new Set([...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      // Grafana's variable syntax, not a template literal: the dashboard asks which Prometheus on import.
      assert.equal(panel.datasource.uid, DATASOURCE_VARIABLE, panel.title);
      assert.ok(panel.targets.length > 0, panel.title);
      for (const target of panel.targets)
        for (const m of target.expr.matchAll(/\bbotbridge_[a-z_]+/g))
          used.add(m[0].replace(/_(bucket|count|sum)$/, ''));
    }
    assert.ok(used.size >= 9, `${used.size} series used`);
    const missing = [...used].filter((name) => !declared.has(name));
    assert.deepEqual(missing, []);
  });
});

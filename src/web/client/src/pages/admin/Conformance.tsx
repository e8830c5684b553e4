import { useState } from 'react';
import { errorText, type AdminApi } from '../../lib/api';
import type { ConformanceCheck, ConformanceReport } from '../../lib/types';
import { JsonView } from '../../components/JsonView';
import { Notice } from '../../components/States';

const OUTCOME_LABEL = { pass: 'Pass', warn: 'Warning', fail: 'Fail' } as const;

/**
 * The conformance check of the bot's service, from the editor: one click drives the service
 * through the whole contract (and the tokens it must refuse) and lists what to fix first, with
 * the offending part of each answer highlighted as the tester does.
 */
export function ConformancePanel({ api, accountId, botId }: { api: AdminApi; accountId: string; botId: string }) {
  const [running, setRunning] = useState(false);
  const [report, setReport] = useState<ConformanceReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async () => {
    setRunning(true);
    setError(null);
    try {
      setReport(await api.conformance(accountId, botId));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setRunning(false);
    }
  };
  return (
    <section className="card conformance" aria-labelledby="conformance-title">
      <header className="conformance-head">
        <div>
          <h2 id="conformance-title">Conformance</h2>
          <p className="muted small">
            Checks the bot’s service against the whole Custom Endpoint contract, and that it refuses tokens it must
            refuse. It uses made-up conversations: nothing real is touched.
          </p>
        </div>
        <button type="button" className="btn" onClick={() => void run()} disabled={running}>
          {running ? 'Checking…' : 'Check conformance'}
        </button>
      </header>
      {error && <Notice tone="error">Could not run the check: {error}</Notice>}
      {report && (
        <>
          <p className="conformance-summary" aria-live="polite">
            <strong>{report.passed} passed</strong>, {report.failed} failed, {report.warnings} warnings
          </p>
          <ol className="conformance-checks" aria-label="Checks, failures first">
            {report.checks.map((c) => (
              <CheckRow key={c.id} check={c} />
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

function CheckRow({ check }: { check: ConformanceCheck }) {
  const response = check.response as { status?: number; body?: unknown } | undefined;
  const sent = check.request as { method?: string; url?: string; body?: unknown; token?: string } | undefined;
  return (
    <li
      className={`conformance-check conformance-check-${check.outcome}`}
      data-check={check.id}
      data-outcome={check.outcome}
    >
      <div className="check-line">
        <span className={`badge badge-check-${check.outcome}`}>{OUTCOME_LABEL[check.outcome]}</span>
        <span className="check-title">{check.title}</span>
        {check.code && <code className="error-code">{check.code}</code>}
        <span className="muted small">{Math.round(check.ms)} ms</span>
      </div>
      {check.outcome !== 'pass' && (
        <div className="check-detail">
          {check.explanation && <p>{check.explanation}</p>}
          {check.fix && (
            <p>
              <strong>How to fix:</strong> {check.fix}
            </p>
          )}
          {response?.body !== undefined && response.body !== null && (
            <details open={Boolean(check.pointer)}>
              <summary>Response (HTTP {response.status})</summary>
              <JsonView
                value={response.body}
                label="Response body"
                highlights={(check.pointers ?? (check.pointer ? [check.pointer] : [])).map((pointer) => ({
                  pointer,
                  note: check.code ?? '',
                }))}
              />
            </details>
          )}
          {sent && (
            <details>
              <summary>
                Request: {sent.method} {sent.url}
              </summary>
              {sent.token && (
                <p className="muted small">
                  Sent with the probe token <code className="token">{sent.token}</code>
                </p>
              )}
              {sent.body !== undefined && <JsonView value={sent.body} label="Request body" />}
            </details>
          )}
        </div>
      )}
    </li>
  );
}

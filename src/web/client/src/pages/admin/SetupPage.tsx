import { useCallback, useMemo, useState } from 'react';
import { adminApi, type AdminApi } from '../../lib/api';
import { Link } from '../../lib/router';
import { useAsync, useSubmit } from '../../lib/use-async';
import type { AppInstallation, AppWithSecret, Skill, User } from '../../lib/types';
import { Field } from '../../components/Field';
import { SkillPicker } from '../../components/SkillPicker';
import { Empty, ErrorState, Loading, Notice } from '../../components/States';

/** The scope a Custom Endpoint bot's app installation needs (its tokens are for the bot service). */
const BOT_SCOPE = 'thirdpartybots.customendpoint.bot';

interface Props {
  token: string;
  accountId: string;
}

/**
 * What an account needs before its first bot takes a conversation, in the order it is needed:
 * skills (where conversations wait), agents (who escalations reach), and app installations (the
 * credentials a bot's service is called with). Every form answers with the API's own reasons.
 */
export function SetupPage({ token, accountId }: Props) {
  const api = useMemo(() => adminApi(token), [token]);
  const loadSkills = useCallback(() => api.skills(accountId), [api, accountId]);
  const skills = useAsync(loadSkills);
  const acc = encodeURIComponent(accountId);
  const skillList = skills.status === 'ready' ? skills.value : [];

  return (
    <div className="page setup-page">
      <div className="page-head">
        <div>
          <h1>Set-up</h1>
          <p className="muted">
            Skills, agents and app installations of account <strong>{accountId}</strong>. With a skill and an app in
            place, <Link to={`/admin/accounts/${acc}/bots/new`}>create a bot</Link>.
          </p>
        </div>
      </div>
      <SkillsCard api={api} accountId={accountId} skills={skills} onCreated={skills.reload} />
      <AgentsCard api={api} accountId={accountId} skills={skillList} />
      <AppsCard api={api} accountId={accountId} />
    </div>
  );
}

function SkillsCard({
  api,
  accountId,
  skills,
  onCreated,
}: {
  api: AdminApi;
  accountId: string;
  skills: ReturnType<typeof useAsync<Skill[]>>;
  onCreated(): void;
}) {
  return (
    <section className="card setup-card" aria-labelledby="skills-title">
      <h2 id="skills-title">Skills</h2>
      <p className="muted small">
        Conversations are routed to a skill: bots serve skills, agents answer the skills they have. Names are
        case-sensitive.
      </p>
      {skills.status === 'loading' && <Loading>Loading skills…</Loading>}
      {skills.status === 'error' && (
        <ErrorState error={skills.error} title="Could not load the skills" onRetry={skills.reload} />
      )}
      {skills.status === 'ready' &&
        (skills.value.length ? (
          <ul className="chips" aria-label="Skills">
            {skills.value.map((s) => (
              <li key={s.id} className="chip">
                {s.name}
              </li>
            ))}
          </ul>
        ) : (
          <Empty title="No skills yet">Create the first one: a bot needs a skill to serve.</Empty>
        ))}
      <NameForm
        label="New skill"
        action="Create skill"
        create={async (name) => {
          await api.createSkill(accountId, name);
          onCreated();
        }}
      />
    </section>
  );
}

function AgentsCard({ api, accountId, skills }: { api: AdminApi; accountId: string; skills: Skill[] }) {
  const loadUsers = useCallback(() => api.users(accountId), [api, accountId]);
  const users = useAsync(loadUsers);
  const [editing, setEditing] = useState<string | null>(null);
  const agents = users.status === 'ready' ? users.value.filter((u) => u.userType === 'HUMAN') : [];
  const bots = users.status === 'ready' ? users.value.filter((u) => u.userType === 'BOT') : [];
  return (
    <section className="card setup-card" aria-labelledby="agents-title">
      <h2 id="agents-title">Agents</h2>
      <p className="muted small">
        People who answer what bots escalate, in the agent workspace (<Link to="/">sign in</Link> as an agent with the
        account id, login name and password).
      </p>
      {users.status === 'loading' && <Loading>Loading agents…</Loading>}
      {users.status === 'error' && (
        <ErrorState error={users.error} title="Could not load the agents" onRetry={users.reload} />
      )}
      {users.status === 'ready' &&
        (agents.length ? (
          <div className="table-wrap">
            <table className="data-table">
              <caption className="visually-hidden">Agents of account {accountId}</caption>
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Skills</th>
                  <th scope="col">Capacity</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {agents.map((u) =>
                  editing === u.id ? (
                    <tr key={u.id} data-agent={u.loginName}>
                      <td colSpan={5}>
                        <AgentForm
                          accountId={accountId}
                          skills={skills}
                          agent={u}
                          onSave={async (draft) => {
                            await api.updateAgent(accountId, u.id, {
                              skills: draft.skills,
                              maxConversations: draft.capacity ? Number(draft.capacity) : null,
                              ...(draft.password ? { password: draft.password } : {}),
                            });
                            setEditing(null);
                            users.reload();
                          }}
                          onCancel={() => setEditing(null)}
                        />
                      </td>
                    </tr>
                  ) : (
                    <tr key={u.id} data-agent={u.loginName}>
                      <td>
                        <strong>{u.loginName}</strong> <span className="muted small">#{u.id}</span>
                      </td>
                      <td>
                        {u.skills
                          .map((s) => s.name)
                          .sort()
                          .join(', ') || <span className="muted">none</span>}
                      </td>
                      <td className="num">{u.maxConversations ?? 'no cap'}</td>
                      <td>{u.state === 'ONLINE' ? 'online' : 'offline'}</td>
                      <td className="row-actions">
                        <button type="button" className="btn btn-small" onClick={() => setEditing(u.id)}>
                          Edit
                        </button>
                      </td>
                    </tr>
                  ),
                )}
              </tbody>
            </table>
          </div>
        ) : (
          <Empty title="No agents yet">Without one, an escalated conversation waits in its skill’s queue.</Empty>
        ))}
      {bots.length > 0 && (
        <p className="muted small">
          Bot users ({bots.map((b) => b.loginName).join(', ')}) follow their bot’s settings: change the bot instead.
        </p>
      )}
      <AgentForm
        accountId={accountId}
        skills={skills}
        onSave={async (draft) => {
          await api.createAgent(accountId, {
            loginName: draft.loginName.trim(),
            password: draft.password,
            skills: draft.skills,
            ...(draft.capacity ? { maxConversations: Number(draft.capacity) } : {}),
          });
          users.reload();
        }}
      />
    </section>
  );
}
/** What the agent form edits; capacity as typed (empty: no cap). */
interface AgentDraft {
  loginName: string;
  password: string;
  capacity: string;
  skills: string[];
}

const NEW_AGENT: AgentDraft = { loginName: '', password: '', capacity: '', skills: [] };

/**
 * One form for a new agent and for changing one (`agent`): a new one needs a login and a
 * password; a change keeps the password unless a new one is typed.
 */
function AgentForm({
  accountId,
  skills,
  agent,
  onSave,
  onCancel,
}: {
  accountId: string;
  skills: Skill[];
  agent?: User;
  onSave(draft: AgentDraft): Promise<void>;
  onCancel?(): void;
}) {
  const start = agent
    ? {
        ...NEW_AGENT,
        loginName: agent.loginName,
        capacity: agent.maxConversations === null ? '' : String(agent.maxConversations),
        skills: agent.skills.map((s) => s.name),
      }
    : NEW_AGENT;
  const [draft, setDraft] = useState(start);
  const set = (change: Partial<AgentDraft>) => setDraft((d) => ({ ...d, ...change }));
  const { busy, error, submit } = useSubmit(async () => {
    await onSave(draft);
    if (!agent) setDraft(NEW_AGENT);
  });
  const title = agent ? `Edit ${agent.loginName}` : 'New agent';
  return (
    <form className="form setup-form" onSubmit={submit} aria-label={title}>
      <h3>{title}</h3>
      <div className="form-row">
        {!agent && (
          <Field label="Login name">
            {(control) => (
              <input
                {...control}
                value={draft.loginName}
                onChange={(e) => set({ loginName: e.target.value })}
                autoComplete="off"
                required
              />
            )}
          </Field>
        )}
        <Field
          label={agent ? 'New password' : 'Password'}
          hint={agent ? 'Leave empty to keep the current one.' : 'At least 8 characters.'}
        >
          {(control) => (
            <input
              {...control}
              type="password"
              value={draft.password}
              onChange={(e) => set({ password: e.target.value })}
              autoComplete="new-password"
              required={!agent}
            />
          )}
        </Field>
        <Field label="Capacity" hint="Open conversations at once; empty for no cap.">
          {(control) => (
            <input
              {...control}
              type="number"
              min={1}
              value={draft.capacity}
              onChange={(e) => set({ capacity: e.target.value })}
            />
          )}
        </Field>
      </div>
      <SkillPicker
        accountId={accountId}
        label="Skills"
        none="No skills to give yet: create one above."
        skills={skills}
        value={draft.skills}
        onChange={(next) => set({ skills: next })}
      />
      <div className="form-buttons">
        <button className="btn btn-primary" type="submit" disabled={busy || !draft.loginName.trim()}>
          {agent ? 'Save' : 'Create agent'}
        </button>
        {onCancel && (
          <button className="btn" type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      {error && <Notice tone="error">{error}</Notice>}
    </form>
  );
}

function AppsCard({ api, accountId }: { api: AdminApi; accountId: string }) {
  const loadApps = useCallback(() => api.apps(accountId), [api, accountId]);
  const apps = useAsync(loadApps);
  /** The secret just created or rotated: shown once, here, until dismissed. */
  const [secret, setSecret] = useState<AppWithSecret | null>(null);
  const [rotateError, setRotateError] = useState<string | null>(null);
  const rotate = async (app: AppInstallation) => {
    if (!window.confirm(`Rotate the secret of “${app.name}”? The current secret stops working at once.`)) return;
    setRotateError(null);
    try {
      setSecret(await api.rotateAppSecret(accountId, app.client_id));
    } catch (e) {
      setRotateError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section className="card setup-card" aria-labelledby="apps-title">
      <h2 id="apps-title">App installations</h2>
      <p className="muted small">
        A bot calls its service with tokens of an app installation: its client id and secret go into the bot’s settings.
        The secret is shown once, when the app is installed or its secret rotated.
      </p>
      {secret && (
        <div className="secret-once" role="status">
          <Notice tone="warning">Copy the client secret of “{secret.name}” now: it is not shown again.</Notice>
          <dl className="pairs">
            <dt>Client id</dt>
            <dd>
              <code data-testid="client-id">{secret.client_id}</code>
            </dd>
            <dt>Client secret</dt>
            <dd>
              <code data-testid="client-secret">{secret.client_secret}</code>{' '}
              <button
                type="button"
                className="btn btn-small"
                onClick={() => void navigator.clipboard?.writeText(secret.client_secret).catch(() => undefined)}
              >
                Copy
              </button>
            </dd>
          </dl>
          <button type="button" className="btn btn-small" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </div>
      )}
      {apps.status === 'loading' && <Loading>Loading apps…</Loading>}
      {apps.status === 'error' && (
        <ErrorState error={apps.error} title="Could not load the apps" onRetry={apps.reload} />
      )}
      {apps.status === 'ready' &&
        (apps.value.length ? (
          <div className="table-wrap">
            <table className="data-table">
              <caption className="visually-hidden">App installations of account {accountId}</caption>
              <thead>
                <tr>
                  <th scope="col">App</th>
                  <th scope="col">Client id</th>
                  <th scope="col">Scope</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {apps.value.map((a) => (
                  <tr key={a.client_id} data-app={a.name}>
                    <td>
                      <strong>{a.name}</strong>
                    </td>
                    <td>
                      <code>{a.client_id}</code>
                    </td>
                    <td>
                      <code>{a.scope}</code>
                    </td>
                    <td className="row-actions">
                      <button type="button" className="btn btn-small" onClick={() => void rotate(a)}>
                        Rotate secret
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <Empty title="No apps yet">Install one for your bot’s credentials.</Empty>
        ))}
      {rotateError && <Notice tone="error">{rotateError}</Notice>}
      <NameForm
        label="New app"
        hint={`Scope ${BOT_SCOPE}`}
        action="Install app"
        create={async (name) => {
          setSecret(await api.installApp(accountId, { name, scope: BOT_SCOPE }));
          apps.reload();
        }}
      />
    </section>
  );
}

/** A one-field form that creates something by its name (trimmed), then clears; the API's reason on failure. */
function NameForm({
  label,
  hint,
  action,
  create,
}: {
  label: string;
  hint?: string;
  action: string;
  create(name: string): Promise<void>;
}) {
  const [name, setName] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    await create(name.trim());
    setName('');
  });
  return (
    <>
      <form className="form form-inline" onSubmit={submit} aria-label={label}>
        <Field label={label} hint={hint}>
          {(control) => (
            <input {...control} value={name} onChange={(e) => setName(e.target.value)} maxLength={255} required />
          )}
        </Field>
        <button className="btn btn-primary" type="submit" disabled={busy || !name.trim()}>
          {action}
        </button>
      </form>
      {error && <Notice tone="error">{error}</Notice>}
    </>
  );
}

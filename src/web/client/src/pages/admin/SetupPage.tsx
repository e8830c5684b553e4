import { useCallback, useMemo, useState } from 'react';
import { BOT_SCOPE, adminApi, errorText, type AdminApi } from '../../lib/api';
import { Link } from '../../lib/router';
import { useAsync, useSubmit } from '../../lib/use-async';
import { NotAllowed, useAccess } from '../../lib/access';
import { ApiTokensCard, OperatorsCard } from './AccountOperators';
import { AlertsCard } from './AlertsCard';
import type { AppBot, AppInstallation, AppWithSecret, RotatedApp, RotatedAppBot, Skill, User } from '../../lib/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { Dialog } from '../../components/Dialog';
import { StatusBadge } from '../../components/StatusBadge';
import { Field } from '../../components/Field';
import { SkillPicker } from '../../components/SkillPicker';
import { Empty, Loaded, Notice, Spinner } from '../../components/States';

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
  const { refusal, may } = useAccess();
  const readOnly = refusal('account:write', accountId);

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
      {readOnly && <NotAllowed what="Changing skills, agents or apps" reason={readOnly} />}
      <SkillsCard api={api} accountId={accountId} skills={skills} onCreated={skills.reload} />
      <AgentsCard api={api} accountId={accountId} skills={skillList} />
      <AppsCard api={api} accountId={accountId} />
      {may('account:manage', accountId) && (
        <>
          <OperatorsCard api={api} accountId={accountId} />
          <ApiTokensCard api={api} accountId={accountId} />
        </>
      )}
      <AlertsCard api={api} accountId={accountId} />
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
  const mayWrite = useAccess().may('account:write', accountId);
  return (
    <section className="card setup-card" aria-labelledby="skills-title">
      <h2 id="skills-title">Skills</h2>
      <p className="muted small">
        Conversations are routed to a skill: bots serve skills, agents answer the skills they have. Names are
        case-sensitive.
      </p>
      <Loaded state={skills} loading="Loading skills…" failed="Could not load the skills">
        {(list) =>
          list.length ? (
            <ul className="chips" aria-label="Skills">
              {list.map((s) => (
                <li key={s.id} className="chip">
                  {s.name}
                </li>
              ))}
            </ul>
          ) : (
            <Empty title="No skills yet">Create the first one: a bot needs a skill to serve.</Empty>
          )
        }
      </Loaded>
      {mayWrite && (
        <NameForm
          label="New skill"
          action="Create skill"
          create={async (name) => {
            await api.createSkill(accountId, name);
            onCreated();
          }}
        />
      )}
    </section>
  );
}

function AgentsCard({ api, accountId, skills }: { api: AdminApi; accountId: string; skills: Skill[] }) {
  const loadUsers = useCallback(() => api.users(accountId), [api, accountId]);
  const users = useAsync(loadUsers);
  const [editing, setEditing] = useState<string | null>(null);
  const mayWrite = useAccess().may('account:write', accountId);
  const agents = users.status === 'ready' ? users.value.filter((u) => u.userType === 'HUMAN') : [];
  const bots = users.status === 'ready' ? users.value.filter((u) => u.userType === 'BOT') : [];
  return (
    <section className="card setup-card" aria-labelledby="agents-title">
      <h2 id="agents-title">Agents</h2>
      <p className="muted small">
        People who answer what bots escalate, in the agent workspace (<Link to="/">sign in</Link> as an agent with the
        account id, login name and password).
      </p>
      <Loaded state={users} loading="Loading agents…" failed="Could not load the agents">
        {() =>
          agents.length ? (
            <DataTable caption={`Agents of account ${accountId}`} columns={['Agent', 'Skills', 'Capacity', 'State']}>
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
                      {mayWrite && (
                        <button type="button" className="btn btn-small" onClick={() => setEditing(u.id)}>
                          Edit
                        </button>
                      )}
                    </td>
                  </tr>
                ),
              )}
            </DataTable>
          ) : (
            <Empty title="No agents yet">Without one, an escalated conversation waits in its skill’s queue.</Empty>
          )
        }
      </Loaded>
      {bots.length > 0 && (
        <p className="muted small">
          Bot users ({bots.map((b) => b.loginName).join(', ')}) follow their bot’s settings: change the bot instead.
        </p>
      )}
      {mayWrite && (
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
      )}
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
  /** The app just installed, with its secret: shown once, here, until dismissed. */
  const [installed, setInstalled] = useState<AppWithSecret | null>(null);
  /**
   * The app a dialog is open for, as the list showed it when opened: what the operator decides
   * on stays put while the list reloads behind the dialog.
   */
  const [dialog, setDialog] = useState<{ action: 'rotate' | 'remove'; app: AppInstallation } | null>(null);
  const mayWrite = useAccess().may('account:write', accountId);
  const close = () => setDialog(null);
  return (
    <section className="card setup-card" aria-labelledby="apps-title">
      <h2 id="apps-title">App installations</h2>
      <p className="muted small">
        A bot refers to one of these apps: its calls carry the app’s tokens, so a bot needs no client secret and keeps
        working when the secret is rotated. The secret is for your own software that asks for app tokens (the
        client-credentials grant); it is shown once, when the app is installed or its secret rotated.
      </p>
      {installed && (
        <div className="secret-once" role="status">
          <SecretOnce app={installed} />
          <button type="button" className="btn btn-small" onClick={() => setInstalled(null)}>
            I have copied it
          </button>
        </div>
      )}
      <Loaded state={apps} loading="Loading apps…" failed="Could not load the apps">
        {(list) =>
          list.length ? (
            <DataTable
              caption={`App installations of account ${accountId}`}
              columns={['App', 'Client id', 'Bots on it']}
            >
              {list.map((a) => (
                <tr key={a.client_id} data-app={a.name}>
                  <td data-label="App">
                    <strong>{a.name}</strong>
                    <div className="muted small">
                      <code>{a.scope}</code>
                    </div>
                  </td>
                  <td data-label="Client id">
                    <code>{a.client_id}</code>
                  </td>
                  <td data-label="Bots on it">
                    {a.bots.length ? (
                      <BotLinks accountId={accountId} bots={a.bots} label={`Bots on ${a.name}`} />
                    ) : (
                      <span className="muted">none</span>
                    )}
                  </td>
                  <td className="row-actions">
                    {mayWrite && (
                      <div className="row-buttons">
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() => setDialog({ action: 'rotate', app: a })}
                        >
                          Rotate secret
                        </button>
                        <button
                          type="button"
                          className="btn btn-small"
                          onClick={() => setDialog({ action: 'remove', app: a })}
                        >
                          Remove
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
          ) : (
            <Empty title="No apps yet">Install one: a bot refers to an app, whose tokens its calls carry.</Empty>
          )
        }
      </Loaded>
      {mayWrite && (
        <NameForm
          label="New app"
          hint={`Scope ${BOT_SCOPE}`}
          action="Install app"
          create={async (name) => {
            setInstalled(await api.installApp(accountId, { name, scope: BOT_SCOPE }));
            apps.reload();
          }}
        />
      )}
      {dialog?.action === 'rotate' && (
        <RotateDialog api={api} accountId={accountId} app={dialog.app} onRotated={apps.reload} onClose={close} />
      )}
      {dialog?.action === 'remove' && (
        // The server refuses while bots refer to the app and its reason is shown: the list the
        // dialog opened with may be out of date, so the server decides, and the list is read again.
        <ConfirmDialog
          title={`Remove “${dialog.app.name}”?`}
          confirm="Remove app"
          confirming="Removing…"
          refused="Not removed"
          act={() => api.removeApp(accountId, dialog.app.client_id)}
          onDone={() => {
            close();
            apps.reload();
          }}
          onRefused={apps.reload}
          onClose={close}
        >
          <AppRemoval accountId={accountId} app={dialog.app} />
        </ConfirmDialog>
      )}
    </section>
  );
}

/** An app's client secret, for the one time it is shown. */
function SecretOnce({ app }: { app: AppWithSecret }) {
  return (
    <>
      <Notice tone="warning">
        Copy the client secret of “{app.name}” now: it is not shown again. Bots need none: they refer to the app.
      </Notice>
      <dl className="pairs">
        <dt>Client id</dt>
        <dd>
          <code data-testid="client-id">{app.client_id}</code>
        </dd>
        <dt>Client secret</dt>
        <dd>
          <code data-testid="client-secret">{app.client_secret}</code>{' '}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => void navigator.clipboard?.writeText(app.client_secret).catch(() => undefined)}
          >
            Copy
          </button>
        </dd>
      </dl>
    </>
  );
}

/** The bots on an app, named and linked to their pages. */
function BotLinks({ accountId, bots, label }: { accountId: string; bots: AppBot[]; label: string }) {
  const acc = encodeURIComponent(accountId);
  return (
    <ul className="app-bots" aria-label={label}>
      {bots.map((b) => (
        <li key={b.id}>
          <Link to={`/admin/accounts/${acc}/bots/${encodeURIComponent(b.id)}`}>{b.name}</Link>
        </li>
      ))}
    </ul>
  );
}

type Rotation = { status: 'asking'; error?: string } | { status: 'rotating' } | { status: 'done'; rotated: RotatedApp };

/**
 * Rotating an app's secret, said before what it touches: the bots on the app keep working (they
 * refer to the app, not its secret), and after, how each of them tested once its cached tokens
 * were dropped, so a bot that would fail is seen now rather than at its next restart.
 */
function RotateDialog({
  api,
  accountId,
  app,
  onRotated,
  onClose,
}: {
  api: AdminApi;
  accountId: string;
  app: AppInstallation;
  onRotated(): void;
  onClose(): void;
}) {
  const [rotation, setRotation] = useState<Rotation>({ status: 'asking' });
  const rotate = async () => {
    setRotation({ status: 'rotating' });
    try {
      setRotation({ status: 'done', rotated: await api.rotateAppSecret(accountId, app.client_id) });
      onRotated();
    } catch (e) {
      setRotation({ status: 'asking', error: `Not rotated: ${errorText(e)}` });
    }
  };
  if (rotation.status === 'done') {
    const { rotated } = rotation;
    return (
      <Dialog
        title={`Secret of “${app.name}” rotated`}
        onClose={onClose}
        actions={
          <button type="button" className="btn btn-primary" onClick={onClose}>
            Done
          </button>
        }
      >
        <div className="secret-once">
          <SecretOnce app={rotated} />
        </div>
        {rotated.bots.length ? (
          <>
            <p>
              {rotated.bots.length === 1
                ? 'The bot on this app keeps working: its cached tokens were dropped and it was tested again.'
                : `The ${rotated.bots.length} bots on this app keep working: their cached tokens were dropped and each was tested again.`}
            </p>
            <ul className="rotated-bots" aria-label="Bots tested again">
              {rotated.bots.map((b) => (
                <RotatedBot key={b.id} accountId={accountId} bot={b} />
              ))}
            </ul>
          </>
        ) : (
          <p className="muted">No bot uses this app.</p>
        )}
      </Dialog>
    );
  }
  const rotating = rotation.status === 'rotating';
  return (
    <Dialog
      title={`Rotate the secret of “${app.name}”?`}
      busy={rotating}
      onClose={onClose}
      actions={
        <>
          <button type="button" className="btn" onClick={onClose} disabled={rotating}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" onClick={() => void rotate()} disabled={rotating}>
            {rotating ? 'Rotating…' : 'Rotate secret'}
          </button>
        </>
      }
    >
      <p>
        A new client secret replaces the current one, which stops working at once for any software that asks for tokens
        with it. The new one is shown once, here.
      </p>
      {app.bots.length ? (
        <>
          <p>
            {app.bots.length === 1
              ? 'The bot that uses this app keeps working: it refers to the app, not its secret. Its cached tokens are dropped and it is tested again.'
              : `The ${app.bots.length} bots that use this app keep working: they refer to the app, not its secret. Their cached tokens are dropped and each is tested again.`}
          </p>
          <BotLinks accountId={accountId} bots={app.bots} label={`Bots on ${app.name}`} />
        </>
      ) : (
        <p className="muted">No bot uses this app.</p>
      )}
      {rotating && (
        <p className="inline-status" role="status">
          <Spinner label="Rotating" /> Rotating, then testing the bots…
        </p>
      )}
      {rotation.status === 'asking' && rotation.error && <Notice tone="error">{rotation.error}</Notice>}
    </Dialog>
  );
}

/** One bot's test after the rotation: OK with the service's state, or the error and its code. */
function RotatedBot({ accountId, bot }: { accountId: string; bot: RotatedAppBot }) {
  const { test } = bot;
  return (
    <li data-bot={bot.id} data-ok={test.ok}>
      <div className="rotated-bot-head">
        <Link to={`/admin/accounts/${encodeURIComponent(accountId)}/bots/${encodeURIComponent(bot.id)}`}>
          {bot.name}
        </Link>
        <StatusBadge status={bot.status} />
      </div>
      {test.ok ? (
        <Notice tone="success">
          <strong>Connection OK.</strong>
          {test.state && (
            <>
              {' '}
              State <code>{test.state}</code>
            </>
          )}
          {test.version && (
            <>
              , version <code>{test.version}</code>
            </>
          )}
        </Notice>
      ) : (
        <Notice tone="error">
          <strong>Connection failed:</strong> {test.error ?? 'no reason given'}
          {test.code && (
            <>
              {' '}
              <code>{test.code}</code>
            </>
          )}
        </Notice>
      )}
    </li>
  );
}

/** What removing an app does, and why the server refuses while bots refer to it. */
function AppRemoval({ accountId, app }: { accountId: string; app: AppInstallation }) {
  return (
    <>
      <p>
        Its client secret stops working at once and it cannot be brought back; tokens it already gave out last until
        they expire.
      </p>
      {app.bots.length > 0 && (
        <>
          <p>
            {app.bots.length === 1 ? 'A bot refers' : 'Bots refer'} to it, and an app is not removed while bots do:
            point {app.bots.length === 1 ? 'it' : 'them'} at another app installation first.
          </p>
          <BotLinks accountId={accountId} bots={app.bots} label={`Bots on ${app.name}`} />
        </>
      )}
    </>
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

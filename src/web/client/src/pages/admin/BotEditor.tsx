import { useCallback, useEffect, useMemo, useState, type FormEvent, type MouseEvent } from 'react';
import { BOT_SCOPE, adminApi, errorText } from '../../lib/api';
import { Link, useRouter } from '../../lib/router';
import { NotAllowed, useAccess } from '../../lib/access';
import { SkillPicker } from '../../components/SkillPicker';
import type { AppInstallation, Bot, FunctionRegistration, Skill, User } from '../../lib/types';
import { StatusBadge } from '../../components/StatusBadge';
import { Check, Field } from '../../components/Field';
import { ErrorState, Loading, Notice } from '../../components/States';
import {
  NEW_BOT,
  formFromBot,
  routingWarnings,
  skillServers,
  toInput,
  validate,
  type BotForm,
  type FormErrors,
} from './bot-form';
import { VendorSection } from './VendorSection';
import { BotLifecycle } from './BotLifecycle';
import { ConformancePanel } from './Conformance';

interface Props {
  token: string;
  accountId: string;
  /** Absent: the create form. */
  botId?: string;
}

/** Create or edit a bot with every setting PRODUCT.md lists, test its connection, start or stop it. */
export function BotEditor({ token, accountId, botId }: Props) {
  const api = useMemo(() => adminApi(token), [token]);
  const { navigate, location } = useRouter();
  const creating = !botId;
  // A viewer reads the settings, disabled; what changes or calls the bot is not offered.
  const readOnly = useAccess().refusal('account:write', accountId);
  const [bot, setBot] = useState<Bot | null>(null);
  const [form, setForm] = useState<BotForm>(NEW_BOT);
  const [skills, setSkills] = useState<Skill[] | null>(null);
  /** The account's app installations: the bot refers to one of them. */
  const [apps, setApps] = useState<AppInstallation[] | null>(null);
  const [functions, setFunctions] = useState<FunctionRegistration[]>([]);
  /** Who serves the account's skills (agents, bots), to warn where routing would surprise; null if unknown. */
  const [servers, setServers] = useState<{ users: User[]; bots: Bot[] } | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [errors, setErrors] = useState<FormErrors>({});
  const [saving, setSaving] = useState(false);
  const [result, setResult] = useState<{ tone: 'success' | 'error'; text: string } | null>(null);

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const [skillList, appList, fns, saved, served] = await Promise.all([
        api.skills(accountId),
        api.apps(accountId),
        api.functions(accountId).catch(() => [] as FunctionRegistration[]),
        botId ? api.bot(accountId, botId) : Promise.resolve(null),
        // Only for warnings: without them the form still works.
        Promise.all([api.users(accountId), api.bots(accountId)]).then(
          ([users, bots]) => ({ users, bots }),
          () => null,
        ),
      ]);
      setSkills(skillList);
      setApps(appList);
      setFunctions(fns);
      setServers(served);
      if (saved) {
        setBot(saved);
        setForm(formFromBot(saved));
      }
    } catch (e) {
      setLoadError(e);
    }
  }, [api, accountId, botId]);
  useEffect(() => {
    void load();
  }, [load]);

  const set = useCallback(<K extends keyof BotForm>(key: K, value: BotForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => (e[key] ? { ...e, [key]: undefined } : e));
    // A message about the last save attempt no longer describes the edited form.
    setResult(null);
  }, []);

  // Created where it is needed, so the form keeps what was typed; the new skill is ticked.
  const createSkill = async (name: string) => {
    const created = await api.createSkill(accountId, name);
    setSkills((list) => [...(list ?? []), created]);
    // Ticked on the form as it is by now, not as it was when the request went out.
    setForm((f) => ({ ...f, skills: [...f.skills, created.name] }));
    setErrors((e) => (e.skills ? { ...e, skills: undefined } : e));
    setResult(null);
  };
  // Installed where it is needed, like a skill; the bot refers to it, so its secret is not shown here.
  const installApp = async (name: string) => {
    const { client_id, scope } = await api.installApp(accountId, { name, scope: BOT_SCOPE });
    setApps((list) => [...(list ?? []), { client_id, name, scope, bots: [] }]);
    set('clientId', client_id);
    return client_id;
  };
  const serving = useMemo(() => skillServers(servers?.users ?? [], servers?.bots ?? [], botId), [servers, botId]);
  const warnings = routingWarnings(form, serving);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validate(form, apps);
    setErrors(found);
    if (Object.values(found).some(Boolean)) {
      setResult({ tone: 'error', text: 'Some settings need attention (marked below).' });
      // Take keyboard users to the first field that needs fixing.
      window.setTimeout(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(), 0);
      return;
    }
    setSaving(true);
    setResult(null);
    try {
      if (!botId) {
        const { id } = await api.createBot(accountId, toInput(form, 'create'));
        navigate(`/admin/accounts/${encodeURIComponent(accountId)}/bots/${encodeURIComponent(id)}?created=1`, {
          replace: true,
        });
      } else {
        const saved = await api.updateBot(accountId, botId, toInput(form, 'patch'));
        setBot(saved);
        setForm(formFromBot(saved));
        setResult({ tone: 'success', text: 'Saved.' });
      }
    } catch (e) {
      setResult({ tone: 'error', text: `Not saved: ${errorText(e)}` });
    } finally {
      setSaving(false);
    }
  };

  const acc = encodeURIComponent(accountId);
  // It says the new bot is offline, so it lasts as long as that is so (a Start ends it).
  const created = location.search.has('created') && bot?.status === 'OFFLINE';
  // What Cancel would throw away: the form as it differs from the bot as saved (or a new bot's defaults).
  const edited = JSON.stringify(form) !== JSON.stringify(bot ? formFromBot(bot) : NEW_BOT);
  const confirmDiscard = (event: MouseEvent) => {
    if (edited && !window.confirm('Discard your changes to this bot?')) event.preventDefault();
  };
  if (loadError) {
    return (
      <div className="page narrow">
        <BackLink acc={acc} />
        <ErrorState
          error={loadError}
          title={creating ? 'Could not prepare the form' : 'Could not load this bot'}
          onRetry={load}
        />
      </div>
    );
  }
  if (creating && readOnly) {
    return (
      <div className="page narrow">
        <BackLink acc={acc} />
        <h1>Create a bot</h1>
        <NotAllowed what="Creating a bot" reason={readOnly} />
      </div>
    );
  }
  if (!skills || !apps || (!creating && !bot)) {
    return (
      <div className="page narrow">
        <Loading>Loading…</Loading>
      </div>
    );
  }

  return (
    <div className="page narrow">
      <BackLink acc={acc} />
      <div className="page-head">
        <div>
          <h1>{creating ? 'Create a bot' : bot!.name}</h1>
          <p className="muted">
            {creating
              ? 'A Custom Endpoint bot: your service answers, the connector does the rest.'
              : `Bot id ${bot!.id}`}
          </p>
        </div>
        {bot && <StatusBadge status={bot.status} />}
      </div>

      {readOnly && <NotAllowed what="Changing, starting, stopping or testing this bot" reason={readOnly} />}
      {bot && !readOnly && <BotLifecycle api={api} accountId={accountId} bot={bot} onChange={setBot} />}
      {bot && !readOnly && <ConformancePanel api={api} accountId={accountId} botId={bot.id} />}

      <form className="bot-form" onSubmit={submit} noValidate>
        <fieldset className="card form-section" disabled={Boolean(readOnly)}>
          <legend>General</legend>
          <Field label="Name" error={errors.name}>
            {(p) => <input {...p} value={form.name} onChange={(e) => set('name', e.target.value)} autoComplete="off" />}
          </Field>
          <div className="field">
            <span className="field-label" id="type-label">
              Conversation type
            </span>
            <div className="segmented" role="radiogroup" aria-labelledby="type-label">
              {(['MESSAGING', 'CHAT'] as const).map((t) => (
                <label key={t} className="segment">
                  <input
                    type="radio"
                    name="conversationType"
                    value={t}
                    checked={form.conversationType === t}
                    onChange={() => set('conversationType', t)}
                  />
                  <span>{t === 'MESSAGING' ? 'Messaging' : 'Chat'}</span>
                </label>
              ))}
            </div>
          </div>
          <SkillPicker
            accountId={accountId}
            label="Skills served"
            skills={skills}
            value={form.skills}
            onChange={(v) => set('skills', v)}
            error={errors.skills}
            onCreate={createSkill}
          />
          {warnings.skills.map((text) => (
            <Notice key={text} tone="warning">
              {text}
            </Notice>
          ))}
        </fieldset>

        <VendorSection
          api={api}
          accountId={accountId}
          bot={bot}
          form={form}
          errors={errors}
          set={set}
          apps={apps}
          onInstallApp={installApp}
          readOnly={Boolean(readOnly)}
        />

        <fieldset className="card form-section" disabled={Boolean(readOnly)}>
          <legend>Conversation behaviour</legend>
          <Check
            label="Send a welcome event"
            hint="The bot gets a START event when a conversation reaches it, so it can greet first."
            checked={form.welcomeEvent}
            onChange={(v) => set('welcomeEvent', v)}
          />
          <Check
            label="Send engagement attributes (SDES)"
            hint="The bot receives the consumer’s SDES when its conversation is created."
            checked={form.engagementAttributes}
            onChange={(v) => set('engagementAttributes', v)}
          />
          <Check
            label="Survey bot"
            hint="The bot gets CLOSE_CONVERSATION when a conversation it holds closes with a survey due."
            checked={form.survey}
            onChange={(v) => set('survey', v)}
          />
          <Field
            label="Maximum open conversations"
            hint="Beyond this, new conversations are escalated."
            error={errors.maxOpenConversations}
            className="field-short"
          >
            {(p) => (
              <input
                {...p}
                inputMode="numeric"
                value={form.maxOpenConversations}
                onChange={(e) => set('maxOpenConversations', e.target.value)}
              />
            )}
          </Field>
        </fieldset>

        <fieldset className="card form-section" disabled={Boolean(readOnly)}>
          <legend>Combine messages</legend>
          <Check
            label="Combine consecutive consumer messages into one event"
            checked={form.combineEnabled}
            onChange={(v) => set('combineEnabled', v)}
          />
          <div className="grid-3">
            <Field label="Max messages" error={errors.maxMessages}>
              {(p) => (
                <input
                  {...p}
                  inputMode="numeric"
                  value={form.maxMessages}
                  disabled={!form.combineEnabled}
                  onChange={(e) => set('maxMessages', e.target.value)}
                />
              )}
            </Field>
            <Field label="Time frame (s)" error={errors.timeFrameSeconds}>
              {(p) => (
                <input
                  {...p}
                  inputMode="decimal"
                  value={form.timeFrameSeconds}
                  disabled={!form.combineEnabled}
                  onChange={(e) => set('timeFrameSeconds', e.target.value)}
                />
              )}
            </Field>
            <Field label="After typing (s)" error={errors.timeFrameAfterTypingSeconds}>
              {(p) => (
                <input
                  {...p}
                  inputMode="decimal"
                  value={form.timeFrameAfterTypingSeconds}
                  disabled={!form.combineEnabled}
                  onChange={(e) => set('timeFrameAfterTypingSeconds', e.target.value)}
                />
              )}
            </Field>
          </div>
        </fieldset>

        <fieldset className="card form-section" disabled={Boolean(readOnly)}>
          <legend>Escalation</legend>
          <p className="muted small">
            When the bot’s service fails or answers nothing usable, the conversation goes to this skill.
          </p>
          <Field label="Escalation skill">
            {(p) => (
              <select {...p} value={form.escalationSkill} onChange={(e) => set('escalationSkill', e.target.value)}>
                {/* Without one, escalation transfers nowhere: the customer gets the transfer-failure message. */}
                <option value="">— None: the customer is told no agent could be reached —</option>
                {skills.map((s) => (
                  <option key={s.id} value={s.name}>
                    {s.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {warnings.escalationSkill && <Notice tone="warning">{warnings.escalationSkill}</Notice>}
          <Field label="Message to the customer">
            {(p) => (
              <textarea
                {...p}
                rows={2}
                value={form.messageToCustomer}
                onChange={(e) => set('messageToCustomer', e.target.value)}
              />
            )}
          </Field>
          <Field label="Message to the agent" hint="Sent as a private text, only agents see it.">
            {(p) => (
              <textarea
                {...p}
                rows={2}
                value={form.messageToAgent}
                onChange={(e) => set('messageToAgent', e.target.value)}
              />
            )}
          </Field>
          <Field
            label="Transfer-failure message"
            hint="Sent to the customer when the escalation transfer itself fails."
          >
            {(p) => (
              <textarea
                {...p}
                rows={2}
                value={form.transferFailureMessage}
                onChange={(e) => set('transferFailureMessage', e.target.value)}
              />
            )}
          </Field>
          <Field
            label="Error hook (function)"
            hint={
              functions.length
                ? 'Called when the bot escalates.'
                : 'No functions registered in this account (POST /admin/v1/accounts/{acc}/functions).'
            }
          >
            {(p) => (
              <select
                {...p}
                value={form.errorHookLambdaUuid}
                onChange={(e) => set('errorHookLambdaUuid', e.target.value)}
              >
                <option value="">— None —</option>
                {functions.map((f) => (
                  <option key={f.lambdaUuid} value={f.lambdaUuid}>
                    {f.name ? `${f.name} (${f.lambdaUuid})` : f.lambdaUuid}
                  </option>
                ))}
                {form.errorHookLambdaUuid && !functions.some((f) => f.lambdaUuid === form.errorHookLambdaUuid) && (
                  <option value={form.errorHookLambdaUuid}>{form.errorHookLambdaUuid} (not registered)</option>
                )}
              </select>
            )}
          </Field>
        </fieldset>

        <fieldset className="card form-section" disabled={Boolean(readOnly)}>
          <legend>Chat inactivity</legend>
          <Check
            label="Warn, then close, when the consumer goes quiet"
            checked={form.inactivityEnabled}
            onChange={(v) => set('inactivityEnabled', v)}
          />
          <div className="grid-2">
            <Field label="Warn after (s)" error={errors.warningAfterSeconds}>
              {(p) => (
                <input
                  {...p}
                  inputMode="numeric"
                  value={form.warningAfterSeconds}
                  disabled={!form.inactivityEnabled}
                  onChange={(e) => set('warningAfterSeconds', e.target.value)}
                />
              )}
            </Field>
            <Field label="Close after (s)" error={errors.closeAfterSeconds}>
              {(p) => (
                <input
                  {...p}
                  inputMode="numeric"
                  value={form.closeAfterSeconds}
                  disabled={!form.inactivityEnabled}
                  onChange={(e) => set('closeAfterSeconds', e.target.value)}
                />
              )}
            </Field>
          </div>
          <Field label="Warning text">
            {(p) => (
              <input
                {...p}
                value={form.warningText}
                disabled={!form.inactivityEnabled}
                onChange={(e) => set('warningText', e.target.value)}
              />
            )}
          </Field>
          <Field label="Close text">
            {(p) => (
              <input
                {...p}
                value={form.closeText}
                disabled={!form.inactivityEnabled}
                onChange={(e) => set('closeText', e.target.value)}
              />
            )}
          </Field>
        </fieldset>

        {!readOnly && (
          <div className="form-actions">
            {result ? (
              <Notice tone={result.tone}>{result.text}</Notice>
            ) : (
              created && <Notice tone="success">Bot created. It is offline until you start it.</Notice>
            )}
            <div className="form-buttons">
              <Link className="btn btn-ghost" to={`/admin/accounts/${acc}/bots`} onClick={confirmDiscard}>
                Cancel
              </Link>
              <button type="submit" className="btn btn-primary" disabled={saving}>
                {saving ? 'Saving…' : creating ? 'Create bot' : 'Save changes'}
              </button>
            </div>
          </div>
        )}
      </form>
    </div>
  );
}

function BackLink({ acc }: { acc: string }) {
  return (
    <Link to={`/admin/accounts/${acc}/bots`} className="back-link">
      ← All bots
    </Link>
  );
}

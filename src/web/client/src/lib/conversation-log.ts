/**
 * The conversation as a screen shows it: events in sequence order (merged from history and the
 * stream, each once) and who is typing. Pure reducer plus a hook around it.
 */
import { useCallback, useEffect, useReducer, useState } from 'react';
import type { ConversationEvent, Originator, StreamMessage } from './types';

export interface LogState {
  events: ConversationEvent[];
  /** Roles currently typing (other than the viewer), with when it started. */
  typing: Partial<Record<Originator['role'], number>>;
  ready: boolean;
}

type Action =
  | { type: 'reset'; events?: ConversationEvent[] }
  | { type: 'load'; events: ConversationEvent[] }
  | { type: 'stream'; message: StreamMessage; conversationId: string }
  | { type: 'expire-typing'; now: number };

export const emptyLog: LogState = { events: [], typing: {}, ready: false };

export function mergeEvents(current: ConversationEvent[], incoming: ConversationEvent[]): ConversationEvent[] {
  if (!incoming.length) return current;
  const bySequence = new Map(current.map((e) => [e.sequence, e]));
  for (const e of incoming) bySequence.set(e.sequence, e);
  return [...bySequence.values()].sort((a, b) => a.sequence - b.sequence);
}

/** A bot can keep "typing" through a long DELAY; past this we stop trusting a lost `false`. */
const TYPING_EXPIRES_MS = 60_000;

export function logReducer(state: LogState, action: Action): LogState {
  switch (action.type) {
    case 'reset':
      return { events: mergeEvents([], action.events ?? []), typing: {}, ready: Boolean(action.events) };
    case 'load':
      // History fetched while the stream was already delivering: keep both, each once.
      return { ...state, events: mergeEvents(state.events, action.events), ready: true };
    case 'expire-typing': {
      const typing = Object.fromEntries(
        Object.entries(state.typing).filter(([, at]) => action.now - (at ?? 0) < TYPING_EXPIRES_MS),
      );
      return Object.keys(typing).length === Object.keys(state.typing).length ? state : { ...state, typing };
    }
    case 'stream': {
      const m = action.message;
      if (m.kind === 'ready') return state.ready ? state : { ...state, ready: true };
      if (m.kind === 'conversation' || m.conversationId !== action.conversationId) return state;
      if (m.kind === 'typing') {
        const typing = { ...state.typing };
        if (m.typing) typing[m.originator.role] = Date.now();
        else delete typing[m.originator.role];
        return { ...state, typing };
      }
      // A message from someone ends their typing, even if the `false` never came.
      const typing = { ...state.typing };
      delete typing[m.event.originator.role];
      return { ...state, events: mergeEvents(state.events, [m.event]), typing };
    }
  }
}

export function useConversationLog(conversationId: string | null) {
  const [state, dispatch] = useReducer(logReducer, emptyLog);
  // Another conversation starts from an empty log, reset while rendering with the new id (React's
  // "adjusting state when a prop changes") so the old conversation's events never show under it.
  const [loggedFor, setLoggedFor] = useState(conversationId);
  if (loggedFor !== conversationId) {
    setLoggedFor(conversationId);
    dispatch({ type: 'reset' });
  }
  useEffect(() => {
    if (!Object.keys(state.typing).length) return;
    const timer = window.setInterval(() => dispatch({ type: 'expire-typing', now: Date.now() }), 5_000);
    return () => window.clearInterval(timer);
  }, [state.typing]);
  const apply = useCallback(
    (message: StreamMessage) => conversationId && dispatch({ type: 'stream', message, conversationId }),
    [conversationId],
  );
  const reset = useCallback((events?: ConversationEvent[]) => dispatch({ type: 'reset', events }), []);
  const load = useCallback((events: ConversationEvent[]) => dispatch({ type: 'load', events }), []);
  return { ...state, apply, reset, load };
}

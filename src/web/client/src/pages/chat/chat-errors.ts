/**
 * What the chat page tells the person chatting when something goes wrong, in their words. The
 * API's messages are for developers ("unknown skill 'nope'", codes, statuses); a visitor needs to
 * know whether to check the link, their connection, or just try again. Pure: the page decides
 * where these show, tests read them directly.
 */

export interface ChatProblem {
  title: string;
  text: string;
  /** Trying again can help (the network, the service), as opposed to a wrong link. */
  retry: boolean;
}

/** Why a call failed, as far as the visitor can act on it. */
type Cause = 'unreachable' | 'busy' | 'trouble' | 'missing' | 'refused' | 'ended' | 'gone' | 'too-long';

/**
 * What an ApiError (lib/api.ts) carries, told by its shape: this file imports nothing, so the
 * server's tests can read it too.
 */
interface ApiFailure {
  status: number;
  code: string;
}

function isApiFailure(error: unknown): error is ApiFailure {
  const e = error as Partial<ApiFailure> | null;
  return typeof e === 'object' && e !== null && typeof e.status === 'number' && typeof e.code === 'string';
}

function causeOf(error: unknown): Cause {
  if (!isApiFailure(error)) return 'trouble';
  if (error.status === 0) return 'unreachable';
  if (error.status === 429) return 'busy';
  if (error.status >= 500) return 'trouble';
  if (error.code === 'conversation-closed') return 'ended';
  if (error.status === 413) return 'too-long';
  if (error.status === 401 || error.status === 403) return 'gone';
  if (error.status === 404) return 'missing';
  return 'refused';
}

const UNREACHABLE = 'The chat could not be reached. Check your internet connection, then try again.';
const TROUBLE = 'Something went wrong on our side. Please try again in a moment.';
const BUSY = 'The chat is very busy right now. Please wait a minute, then try again.';

/** The chat's topic is its skill: a visitor never sees the word. */
export function noSuchTopic(skill: string): string {
  return `There is no '${skill}' topic here. Check the link you followed, or ask the site that gave it to you.`;
}

/** Checking the link's topic before anyone types. */
export function topicProblem(error: unknown, skill: string): ChatProblem {
  switch (causeOf(error)) {
    case 'unreachable':
      return { title: 'Could not reach the chat', text: UNREACHABLE, retry: true };
    case 'busy':
      return { title: 'The chat is busy', text: BUSY, retry: true };
    case 'trouble':
      return { title: 'The chat is not working right now', text: TROUBLE, retry: true };
    default:
      // Not found, or a name that cannot be one: either way the link is wrong.
      return { title: 'This chat is not available', text: noSuchTopic(skill), retry: false };
  }
}

/** Checking, after a reload, the conversation this browser remembers (a lost one starts afresh instead). */
export function restoreProblem(error: unknown): ChatProblem {
  const cause = causeOf(error);
  return {
    title: 'Could not restore your conversation',
    text: cause === 'unreachable' ? UNREACHABLE : cause === 'busy' ? BUSY : TROUBLE,
    retry: true,
  };
}

/** A message that did not go out; `opening`: it was to start the conversation. */
export function sendProblem(error: unknown, skill: string, opening: boolean): string {
  switch (causeOf(error)) {
    case 'unreachable':
      return `Your message was not sent. ${UNREACHABLE}`;
    case 'busy':
      return 'Your message was not sent: too many messages at once. Wait a moment, then send it again.';
    case 'trouble':
      return `Your message was not sent. ${TROUBLE}`;
    case 'ended':
      return 'This conversation has ended. Start a new one to keep chatting.';
    case 'too-long':
      return 'Your message was not sent: it is too long. Shorten it or send it in parts.';
    case 'missing':
      return opening
        ? `This chat is not available. ${noSuchTopic(skill)}`
        : 'This conversation is no longer available. Start a new one to keep chatting.';
    case 'gone':
      return 'This conversation is no longer available. Start a new one to keep chatting.';
    case 'refused':
      return 'Your message was not sent: the chat could not take it. Check it, then send it again.';
  }
}

/** Ending the conversation did not work (one already ended is not a problem: the page shows it ended). */
export function endProblem(error: unknown): string {
  const cause = causeOf(error);
  if (cause === 'unreachable') return `Could not end the conversation. ${UNREACHABLE}`;
  if (cause === 'busy') return `Could not end the conversation. ${BUSY}`;
  return `Could not end the conversation. ${TROUBLE}`;
}

/** Whether the conversation is over as far as the visitor is concerned (ended, or its token no longer opens it). */
export function isOver(error: unknown): boolean {
  const cause = causeOf(error);
  return cause === 'ended' || cause === 'gone';
}

/**
 * Every error code a Custom Endpoint bot can run into, explained for the person who wrote the
 * bot's service: the console's conversation tester and the bot logs show these next to the code.
 *
 * The `common-*` codes for the response as a whole, structured content and quick replies are the
 * names LivePerson's Conversation Tester documentation uses, as is `custom-endpoint-invalid-body`.
 * LivePerson names the per-item codes per vendor (`lex-invalid-delay-body`,
 * `dialog-flow-cx-invalid-action-body`…); the Custom Endpoint has no such list, so those follow
 * the same pattern under `common-`. The `vendor-*` and remaining codes are the connector's own.
 */

import { PARSER_ERROR_CODES, RICH_CONTENT_LIMITS, type ParserErrorCode } from '../contract/index.js';
import type { ErrorCodeInfo } from './types.js';

export { PARSER_ERROR_CODES, type ParserErrorCode };

/** Codes the connector emits around the call to the bot's service and when carrying out actions. */
export const CONNECTOR_ERROR_CODES = [
  'vendor-unreachable',
  'vendor-timeout',
  'vendor-http-error',
  'vendor-auth-rejected',
  'vendor-malformed-response',
  'vendor-response-too-large',
  'vendor-response-too-deep',
  'bot-state-not-online',
  'transfer-failed',
  'function-invocation-failed',
  'bot-capacity-reached',
  'bot-offline',
  'platform-error',
] as const;
export type ConnectorErrorCode = (typeof CONNECTOR_ERROR_CODES)[number];

export type ErrorCode = ParserErrorCode | ConnectorErrorCode;

export const ERROR_CODES: Readonly<Record<ErrorCode, ErrorCodeInfo>> = {
  'common-invalid-ai-vendor-response': {
    title: 'No usable response from the bot',
    explanation:
      'The body your service returned for the consumer event is not an object with a "response" array (it was null, a string, an array, or an object without "response"), so there was nothing to send. The conversation was escalated.',
    fix: 'Answer POST …/conversations/{convId}/events with JSON of the form {"response": [ …items… ], "analytics": {"intents": [ … ]}}. Return an empty array only if the bot really has nothing to say, and then expect an escalation.',
  },
  'common-invalid-parsed-response': {
    title: 'No valid message or action',
    explanation:
      'After the invalid items were dropped, the response held no message (TEXT or STRUCTURED_CONTENT) and no ACTION — it was empty, held only DELAYs, or every item was invalid. The conversation was escalated.',
    fix: 'Make every response carry at least one valid TEXT, STRUCTURED_CONTENT or ACTION item. The other errors logged for the same response say why each item was dropped.',
  },
  'custom-endpoint-invalid-body': {
    title: 'Response item is not an item',
    explanation:
      'An entry of the "response" array is not an object with a string "type", so it could not be read as a message or an action. It was skipped; the other items were still sent.',
    fix: 'Make every entry of "response" an object like {"type": "TEXT", "data": { … }}. Check for nulls, nested arrays or strings where your code builds the list.',
  },
  'common-unknown-response-type': {
    title: 'Unknown item type',
    explanation:
      'A response item has a "type" the connector does not know. It was skipped; the other items were still sent.',
    fix: 'Use one of TEXT, STRUCTURED_CONTENT, DELAY or ACTION, in upper case exactly as written.',
  },
  'common-invalid-text-body': {
    title: 'Invalid text message',
    explanation:
      'A TEXT item has no usable "data.message" (missing, empty or not a string), or its "metadata" is neither an object nor an array. The message was not sent; the other items were.',
    fix: 'Send {"type": "TEXT", "data": {"message": "…"}} with a non-empty string; put "metadata", if any, as an array such as [{"type": "ExternalId", "id": "…"}].',
  },
  'common-invalid-private-text-body': {
    title: 'Invalid private text',
    explanation:
      'A TEXT item meant for agents and managers only is invalid: the message is missing or empty, or "messageAudience" is not exactly "AGENTS_AND_MANAGERS" or "ALL". It was not sent (rather than risk showing it to the consumer); the other items were.',
    fix: 'Send {"type": "TEXT", "data": {"message": "…", "messageAudience": "AGENTS_AND_MANAGERS"}} — the audience is case-sensitive; leave it out (or use "ALL") for a normal message.',
  },
  'common-invalid-structured-content-body': {
    title: 'Invalid structured content',
    explanation: `A STRUCTURED_CONTENT item does not match LivePerson's structured-content templates (a wrong or missing property, an element type not allowed there, a value too long…), is larger than structured content may be (nested deeper than ${RICH_CONTENT_LIMITS.maxDepth} levels of objects and arrays, more than ${RICH_CONTENT_LIMITS.maxNodes.toLocaleString('en')} JSON values, or more than ${RICH_CONTENT_LIMITS.maxTotalLength / 1024} KiB as JSON), or a quick-replies message lacks its text or is mixed with other content. It was not sent; the other items were.`,
    fix: `Correct the property the message points at. Check cards against LivePerson's structured-content templates (the json-pollock editor shows them rendered); quick replies need {"quickReplies": {"type": "quickReplies", "itemsPerRow": 1–8, "replies": [1–24 buttons]}, "message": "…"}. Content over a limit is refused without being read further: nest fewer layouts, send fewer elements, or split it into several messages.`,
  },
  'common-no-quick-replies-support-chat': {
    title: 'Quick replies on a chat conversation',
    explanation:
      'The bot sent quick replies, but this bot serves CHAT conversations, which cannot show them. The item was not sent; the other items were.',
    fix: 'For chat bots send the choices as text or as a structured-content card with buttons; keep quick replies for messaging conversations (the conversation type is part of the context of every event).',
  },
  'common-invalid-encoded-metadata': {
    title: 'Invalid encoded metadata',
    explanation:
      'A message\'s "encodedMetadata" is not a base64 string of at most 5,000 characters, or it was sent on a CHAT conversation, where encoded metadata is not supported. The whole message was dropped; the other items were sent.',
    fix: 'Base64-encode the metadata (standard alphabet with padding, no line breaks) and keep the result within 5,000 characters; only send "encodedMetadata" on messaging conversations.',
  },
  'common-invalid-delay-body': {
    title: 'Invalid delay',
    explanation:
      'A DELAY item has no whole number of seconds of at least 1, or its "typing" is not true or false. It was skipped, so the next message followed without a pause.',
    fix: 'Send {"type": "DELAY", "data": {"seconds": 3, "typing": true}} — seconds as a JSON integer ≥ 1, not a string; "typing" is optional and defaults to true.',
  },
  'common-delay-too-long': {
    title: 'Delay over the limit',
    explanation:
      "The DELAYs of one answer add up to more than the bot's limit (limits.maxDelaySeconds, 30 s unless configured). While an answer waits, the conversation's next events wait behind it, so this DELAY was skipped and the next message followed without that pause.",
    fix: "Keep the pauses of one answer short (a few seconds each); for longer waits answer now and send the rest later through the Public API, or raise the bot's limits.maxDelaySeconds.",
  },
  'common-too-many-items': {
    title: 'Too many items',
    explanation:
      'The "response" array has more items than the bot\'s limit (limits.maxItems, 50 unless configured). The whole answer was refused — nothing was sent — and the conversation was escalated.',
    fix: "Send fewer, fuller messages (a structured-content card or list instead of many texts), or raise the bot's limits.maxItems.",
  },
  'common-invalid-action-body': {
    title: 'Invalid action',
    explanation:
      'An ACTION item could not be carried out as sent: unknown "name", or parameters missing or of the wrong type (TRANSFER without skillName or agentId, CHANGE_TTR with an unknown ttrType or a CUSTOM one without value, INVOKE_FUNCTION without a UUID lambdaUuid or an object payload, a withoutPcs or failOnError that is not a boolean). The action was skipped; the messages were still sent.',
    fix: 'Check the action against the Custom Endpoint contract: TRANSFER {skillName and/or agentId}, CLOSE_CONVERSATION {withoutPcs?}, CHANGE_TTR {ttrType: URGENT|NORMAL|PRIORITIZED, or CUSTOM with value in seconds}, INVOKE_FUNCTION {lambdaUuid, payload, failOnError?}. Names and values are case-sensitive.',
  },
  'common-multiple-actions': {
    title: 'More than one action',
    explanation:
      'The response carries more than one ACTION. Only the first valid one is carried out (after the messages); the others were ignored.',
    fix: 'Send at most one ACTION per response. To do two things (say, change the TTR and then transfer), decide on one, or do the second in the response to a later event.',
  },
  'common-invalid-intent': {
    title: 'Invalid intent',
    explanation:
      'An entry of "analytics.intents" is not {id, description, confidenceScore}: an id missing or containing spaces, a description that is not a string, or a confidenceScore outside 0..1. It was left out of the analytics; the messages are not affected.',
    fix: 'Send "analytics": {"intents": [{"id": "order-status", "description": "Order status", "confidenceScore": 0.87}]} — the id without whitespace, the score a number between 0 and 1.',
  },

  'vendor-unreachable': {
    title: 'Bot service unreachable',
    explanation:
      'The connector could not reach your service at all (DNS failure, connection refused or reset, TLS error) even after retrying. The conversation was escalated.',
    fix: 'Check that the Base URL in the bot\'s vendor configuration is right (scheme, host, port, no trailing "/"), that the service is running and reachable from this platform, and that its TLS certificate is valid.',
  },
  'vendor-timeout': {
    title: 'Bot service too slow',
    explanation:
      'Your service did not answer within the request timeout (60 seconds unless configured otherwise), on every attempt. The conversation was escalated.',
    fix: 'Answer the events call faster: do slow work asynchronously and reply with what you have, or raise the timeout in the connector settings if the bot legitimately needs longer.',
  },
  'vendor-http-error': {
    title: 'Bot service returned an HTTP error',
    explanation:
      'Your service answered with a non-2xx status (5xx and 429 are retried; this was the final answer). The conversation was escalated.',
    fix: 'Look up the request in your service\'s logs with the conversation id. Return 200 with a "response" body for events, 200/201/204 (or 409 if it already exists) when a conversation is created, and a 404 on events only when the conversation is unknown — the connector then recreates it once.',
  },
  'vendor-auth-rejected': {
    title: 'Bot service rejected the credentials',
    explanation:
      "Your service answered 401 or 403 to the connector's bearer token (a 401 is retried once with a freshly fetched token). The conversation was escalated.",
    fix: "Check that your service validates the token against this platform's Sentinel keys and issuer, and that the Client ID and Client Secret in the vendor configuration belong to an app installation your service accepts.",
  },
  'vendor-malformed-response': {
    title: 'Bot service returned something that is not JSON',
    explanation:
      'The body your service returned could not be decoded as JSON (an HTML error page, plain text, a truncated body…); the message says what it was and how it starts. The conversation was escalated.',
    fix: 'Return the body as JSON with Content-Type application/json, and make sure proxies or frameworks in front of the service do not replace errors with HTML pages.',
  },
  'vendor-response-too-large': {
    title: 'Answer too large',
    explanation:
      "The body your service returned is larger than the bot's limit (limits.maxResponseBytes, 2 MiB unless configured). It was not read past the limit, nothing was sent, and the conversation was escalated; the bot's other conversations are not affected.",
    fix: "Keep answers small: send images and files as links in structured content, not inline. If large answers are intended, raise the bot's limits.maxResponseBytes.",
  },
  'vendor-response-too-deep': {
    title: 'Answer nested too deeply',
    explanation:
      "The JSON your service returned nests objects and arrays more than 64 levels deep, which no valid answer does (structured content itself is limited to 32 levels). It was not parsed further, nothing was sent, and the conversation was escalated; the bot's other conversations are not affected.",
    fix: 'Look for a serializer that recursed into itself or wrapped the answer repeatedly; answers are flat lists of items, and templates nest only a few levels.',
  },
  'bot-state-not-online': {
    title: 'Bot is not online',
    explanation:
      'GET …/environments/{env}/state did not report "online" for the configured environment, so the test connection failed or the bot could not start.',
    fix: 'Make the state endpoint return {"state": "online", "version": "…"} for the environment configured on the bot (default "draft"), or pick an environment that is online.',
  },
  'transfer-failed': {
    title: 'Transfer failed',
    explanation:
      'The bot asked for a TRANSFER, but it could not be carried out — typically no skill with that exact (case-sensitive) name exists, or the agent is unknown and no fallback skill was given. The escalation path ran instead.',
    fix: 'Use a skill name exactly as it is defined on the account (case matters), and send a skillName together with an agentId so the transfer can fall back to the skill when the agent is unavailable.',
  },
  'function-invocation-failed': {
    title: 'Function invocation failed',
    explanation:
      "An INVOKE_FUNCTION action failed: no function is registered under that lambdaUuid, or the function's webhook failed or timed out. The conversation was escalated only because failOnError was true; otherwise it just continues.",
    fix: 'Check that lambdaUuid matches a function registered on the account and that its HTTPS webhook answers with a 2xx; set failOnError only where a failure should hand the consumer to a human.',
  },
  'bot-capacity-reached': {
    title: 'Bot at capacity',
    explanation:
      'The bot already holds the most open conversations it may (999 unless configured otherwise), so this new conversation was escalated without reaching your service.',
    fix: "Close conversations the bot has finished with (a CLOSE_CONVERSATION or TRANSFER action), or raise the bot's conversation limit in its settings if your service can take the load.",
  },
  'bot-offline': {
    title: 'Bot stopped',
    explanation:
      'A consumer wrote in a conversation the bot still holds, but the bot has been stopped, so nothing was sent to your service and the conversation was escalated.',
    fix: 'Start the bot again (its test connection must pass), or transfer its remaining conversations before stopping it.',
  },
  'platform-error': {
    title: 'Platform failure',
    explanation:
      'botbridge itself failed while carrying out the exchange. When its database was unavailable, the bot is in SERVICE_INTERRUPTION and is retried every minute; consumer messages it could not answer are sent once it recovers. When the store works and the failure came from this one exchange, only its conversation was escalated.',
    fix: "Nothing to change in your bot service. Check botbridge's logs and its database; the bot returns to ONLINE by itself.",
  },
};

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

import type { Generated } from 'kysely';

/**
 * Row shapes of every table, as Kysely sees them. JSON columns are text in both SQLite and
 * PostgreSQL so one code path serves both; booleans are 0/1 integers for the same reason.
 * Timestamps are epoch milliseconds.
 */
export interface Database {
  settings: { key: string; value: string };

  accounts: { id: string; created_at: number };

  skills: { id: Generated<number>; account_id: string; name: string; created_at: number };

  users: {
    id: Generated<number>;
    account_id: string;
    login_name: string;
    user_type: 'HUMAN' | 'BOT';
    password_hash: string | null;
    /** null: no cap (bot users; their connector enforces its own cap with escalation). */
    max_conversations: number | null;
    /** ONLINE users take routed conversations; HUMANs become ONLINE when they log in. */
    state: 'ONLINE' | 'OFFLINE';
    /** For BOT users: the connector's bot configuration this user speaks for. */
    bot_id: string | null;
    created_at: number;
    /** Open conversations the user holds, kept by the changes that assign and close them. */
    open_conversations: Generated<number>;
  };

  user_skills: { user_id: number; skill_id: number };

  conversations: {
    id: string;
    account_id: string;
    type: 'MESSAGING' | 'CHAT';
    status: 'OPEN' | 'CLOSED';
    skill_id: number;
    assignee_user_id: number | null;
    ttr_type: string;
    ttr_value: number | null;
    sdes: string;
    visitor: string;
    engagement_id: number | null;
    campaign_id: number | null;
    close_reason: string | null;
    closed_without_pcs: number;
    last_seq: number;
    created_at: number;
    updated_at: number;
    /** When it entered its skill's queue (waiting for an agent); null while assigned. */
    queued_at: number | null;
    closed_at: number | null;
    /** The last entry its holder has answered (a bot's answer commits it). */
    answered_seq: number;
    /** The last entry its holder must answer: a consumer message, or the holder's own assignment. */
    inbound_seq: number;
    /** JSON: the rest of an answer still to be carried out (after a DELAY), or null. */
    pending_answer: string | null;
    /** Open conversations its holder already had when it got this one (counted under a lock); null while nobody holds it. */
    holder_load: number | null;
    /** How many changes the row has had: a change writes only onto the version it started from. */
    version: number;
    /** A tester's conversation: closed once this passes without its tester renewing it. Null for real ones. */
    test_until: number | null;
  };

  conversation_events: {
    conversation_id: string;
    seq: number;
    server_ts: number;
    type: string;
    originator_role: string;
    originator_user_id: number | null;
    audience: 'ALL' | 'AGENTS_AND_MANAGERS';
    /** JSON: text, content, metadata, encodedMetadata, context and type-specific fields. */
    body: string;
  };

  apps: {
    client_id: string;
    account_id: string;
    name: string;
    scope: string;
    secret_hash: string;
    created_at: number;
  };

  signing_keys: {
    kid: string;
    private_jwk: string;
    public_jwk: string;
    created_at: number;
    /** Set when a newer key replaced it; it stays published until its tokens have expired. */
    retired_at: number | null;
  };

  functions: { lambda_uuid: string; account_id: string; name: string | null; url: string; created_at: number };
}

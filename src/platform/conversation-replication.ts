import type { Store } from '../store/index.js';
import type { EventBus } from './bus.js';
import type { ChangeNotice, TypingNotice } from './transport.js';
import type { Directory } from './directory.js';
import { announcedStanding, standingAnnouncements, standingChanges, standingOf } from './conversation-changes.js';
import type { ConversationLoader } from './conversation-reads.js';
import type { ConversationLog } from './conversation-log.js';
import type { Conversation } from './types.js';

/**
 * Other instances' changes, announced on this instance's bus as if they were its own: in
 * sequence order with its own (the log's lock), after whatever of the log this bus has not
 * announced yet, read from the store (a notice says what changed, never the entries).
 */
export class ConversationReplication {
  constructor(
    private readonly store: Store,
    private readonly log: ConversationLog,
    private readonly loader: ConversationLoader,
    private readonly directory: Directory,
    private readonly bus: EventBus,
  ) {}

  /** Another instance committed a change. */
  receive(notice: ChangeNotice): Promise<void> {
    return this.log.exclusive(notice.conversationId, async () => {
      this.log.release(notice.conversationId);
      const known = this.log.announcedOf(notice.conversationId);
      const after = known?.sequence ?? notice.from;
      const changes = notice.previous ? standingChanges(notice.previous, notice) : { moved: false, closed: false };
      if (notice.to <= after && !changes.moved && !changes.closed && !notice.opened) return;
      const current = await this.loader.load(this.store.db, notice.conversationId);
      if (!current) return;
      // The state as of this change: a later one may already be in the row.
      const skill =
        notice.skillId === current.skill.id
          ? current.skill
          : ((await this.directory.skillById(notice.skillId)) ?? current.skill);
      const conversation: Conversation = {
        ...current,
        assignee: notice.holder,
        skill,
        status: notice.status,
        lastSequence: Math.max(notice.to, after),
      };
      if (notice.opened && !known) this.bus.publish({ type: 'conversation.opened', conversation });
      await this.log.announceEntries(conversation, after, notice.to);
      if (notice.previous) this.log.publish(standingAnnouncements(notice.previous, changes, conversation));
      this.log.remember(conversation);
    });
  }

  /**
   * Another instance's change that nothing here listens for (no stream shows it, no bot driven
   * here holds or held it): not read at all, and this bus keeps no order for it either, since
   * what it announces next of the conversation starts afresh.
   */
  ignore(notice: ChangeNotice): void {
    this.log.forget(notice.conversationId);
  }

  /** Typing on another instance, announced here too (best effort: it is not stored). */
  async receiveTyping(notice: TypingNotice): Promise<void> {
    const conversation = await this.loader.load(this.store.db, notice.conversationId);
    if (conversation?.status === 'OPEN')
      this.bus.publish({
        type: 'conversation.typing',
        conversation,
        originator: notice.originator,
        typing: notice.typing,
      });
  }

  /**
   * The instance may have missed other instances' changes (its listener was cut off): every
   * conversation it has announced is brought up to date from the store, in order.
   */
  async catchUp(): Promise<void> {
    this.log.releaseAll();
    for (const conversationId of this.log.announcedIds()) {
      await this.log.exclusive(conversationId, async () => {
        const known = this.log.announcedOf(conversationId);
        const current = await this.loader.load(this.store.db, conversationId);
        if (!known || !current) return;
        await this.log.announceEntries(current, known.sequence, current.lastSequence);
        const was = announcedStanding(known);
        this.log.publish(standingAnnouncements(was, standingChanges(was, standingOf(current)), current));
        this.log.remember(current);
      });
    }
  }
}

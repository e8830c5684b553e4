/**
 * A realtime stream over WebSocket that stays up: on a drop it reconnects with backoff and asks
 * for `after=<last sequence seen>`, so nothing is missed or shown twice.
 */
import { useEffect, useRef, useState } from 'react';
import type { StreamMessage } from './types';

export type StreamStatus = 'connecting' | 'live' | 'reconnecting';

export interface StreamSource {
  /** Changing the key tears the old stream down and opens a new one. */
  key: string;
  /** The URL to (re)connect to, given the last event sequence seen (undefined on first connect). */
  url(after: number | undefined): string;
}

export function useStream(source: StreamSource | null, onMessage: (message: StreamMessage) => void): StreamStatus {
  const [status, setStatus] = useState<StreamStatus>('connecting');
  // The handler changes every render; the socket must not.
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const key = source?.key ?? null;
  const urlRef = useRef(source?.url);
  urlRef.current = source?.url;

  useEffect(() => {
    if (key === null) return;
    let socket: WebSocket | undefined;
    let timer: number | undefined;
    let stopped = false;
    let failures = 0;
    let lastSequence: number | undefined;

    const connect = () => {
      const url = urlRef.current;
      if (!url) return;
      socket = new WebSocket(url(lastSequence));
      socket.onmessage = (frame) => {
        let message: StreamMessage;
        try {
          message = JSON.parse(String(frame.data)) as StreamMessage;
        } catch {
          return;
        }
        if (message.kind === 'event') lastSequence = Math.max(lastSequence ?? 0, message.event.sequence);
        if (message.kind === 'ready') {
          failures = 0;
          setStatus('live');
        }
        handler.current(message);
      };
      socket.onclose = () => {
        if (stopped) return;
        setStatus('reconnecting');
        failures += 1;
        timer = window.setTimeout(connect, Math.min(10_000, 400 * 2 ** Math.min(failures, 5)));
      };
    };
    setStatus('connecting');
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      socket?.close();
    };
  }, [key]);

  return key === null ? 'connecting' : status;
}

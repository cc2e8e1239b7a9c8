/**
 * Raw HTTP over node:net for hostile-client tests: bytes the way an attacker
 * writes them (no client library to normalise paths or refuse bad framing),
 * and what the server sent back before it closed.
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** everything the server sent */
  text: string;
  /** the server closed the connection (rather than our bound running out) */
  closedByServer: boolean;
  /** the status codes of every response in `text`, in order */
  statuses: number[];
}

/** Sends `bytes`, then reads until the server closes or `waitMs` passes. */
export async function rawRequest(host: string, port: number, bytes: string | Buffer, waitMs = 3000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    let text = '';
    let settled = false;
    const finish = (closedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closedByServer, statuses: [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1])) });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.write(bytes);
  });
}

/** The JSON error code in a raw response's body, if any. */
export function rawErrorCode(text: string): string | undefined {
  const body = text.split('\r\n\r\n')[1] ?? '';
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** Opens a socket and resolves once connected (or with the error); `onClose` hears when it closes, from the start. */
export async function openSocket(host: string, port: number, onClose?: (socket: Socket) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    socket.on('error', () => undefined);
    // Read (and drop) whatever the server sends, e.g. a 408: a paused socket never sees the server's FIN.
    socket.resume();
    if (onClose !== undefined) socket.once('close', () => onClose(socket));
    socket.once('connect', () => { socket.off('error', reject); resolve(socket); });
    socket.once('error', reject);
  });
}

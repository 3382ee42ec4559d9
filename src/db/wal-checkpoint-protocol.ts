/** Messages between the server and its WAL checkpoint thread (wal-checkpoint-worker.ts). */
export interface CheckpointWorkerData {
  readonly file: string
  readonly intervalMs: number
  readonly busyTimeoutMs: number
}

export type CheckpointRequest = { readonly op: 'truncate'; readonly id: number } | { readonly op: 'close' }

export type CheckpointReply =
  | { readonly op: 'ready' }
  | { readonly op: 'truncated'; readonly id: number; readonly ok: true }
  | { readonly op: 'truncated'; readonly id: number; readonly ok: false; readonly error: string }
  | { readonly op: 'failed'; readonly error: string }

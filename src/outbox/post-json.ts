/** A JSON POST (webhooks), through outbox/post.ts. The body is sent exactly as given: it may be signed. */
import { post, type PostOptions } from './post.js'

/** POSTs `body` (JSON text) as application/json with extra headers; resolves with the answer's HTTP status. */
export function postJson(target: string, body: string, headers: Readonly<Record<string, string>>, options: PostOptions): Promise<number> {
  return post(target, { contentType: 'application/json', body, headers }, options)
}

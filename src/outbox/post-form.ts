/** An application/x-www-form-urlencoded POST (back-channel logout tokens), through outbox/post.ts. */
import { post, type PostOptions } from './post.js'

export { PostFailed } from './post.js'

/** POSTs `form` as application/x-www-form-urlencoded; resolves with the answer's HTTP status. */
export function postForm(target: string, form: Readonly<Record<string, string>>, options: PostOptions): Promise<number> {
  return post(target, { contentType: 'application/x-www-form-urlencoded', body: new URLSearchParams(form).toString() }, options)
}

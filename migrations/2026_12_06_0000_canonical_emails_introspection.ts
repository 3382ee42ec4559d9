// Frozen in time: imports only kysely and Node. Stored emails become canonical (RFC 8265 width
// mapping, case mapping and NFC; the domain in IDNA ASCII without a trailing dot), so look-alike
// spellings can no longer be separate accounts. A row whose canonical form another row already
// has (or would get) is left exactly as it is: nothing is merged; `idp users collisions` lists
// them. Clients gain `introspect`: may introspect access tokens issued to other clients.
import { domainToASCII } from 'node:url'
import type { Kysely } from 'kysely'

function canonical(email: string): string {
  const mapped = email
    .trim()
    .replace(/[\u3000\uff00-\uffef]/g, (c) => c.normalize('NFKC'))
    .toLowerCase()
    .normalize('NFC')
  const at = mapped.lastIndexOf('@')
  if (at < 0) return mapped
  const domain = mapped.slice(at + 1).replace(/\.$/, '')
  const ascii = domain === '' ? '' : domainToASCII(domain)
  return `${mapped.slice(0, at)}@${ascii === '' ? domain : ascii}`
}

interface UserRow {
  id: string
  email: string
}

/** The one table this migration reads, as it was at this point in time. */
interface Tables {
  users: UserRow & { created_at: number }
}

export async function up(untyped: Kysely<unknown>): Promise<void> {
  const db = untyped as Kysely<Tables>
  await db.schema
    .alterTable('clients')
    .addColumn('introspect', 'integer', (c) => c.notNull().defaultTo(0))
    .execute()
  const users: UserRow[] = await db.selectFrom('users').select(['id', 'email']).orderBy('created_at').orderBy('id').execute()
  const groups = new Map<string, UserRow[]>()
  for (const user of users) {
    const form = canonical(user.email)
    groups.set(form, [...(groups.get(form) ?? []), user])
  }
  for (const [form, members] of groups) {
    // Only a lone spelling is rewritten; colliding groups stay untouched for the operator.
    if (members.length !== 1 || members[0]!.email === form) continue
    await db.updateTable('users').set({ email: form }).where('id', '=', members[0]!.id).execute()
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clients').dropColumn('introspect').execute()
}

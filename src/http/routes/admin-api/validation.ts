/**
 * The admin API's validator: TypeBox's compiler over the route schemas, strict where Fastify's
 * default Ajv is lenient. An unknown member is refused, not silently dropped (a misspelt
 * `redirect_uri` must not register a client without redirect URIs); JSON bodies are taken as
 * sent (no `"true"` → true); query, path and header values are strings, converted to the
 * declared types. A request without a body is validated as `{}` (the members a route requires
 * are then named). Every failure is listed (RFC 9457 `errors`), at most 20.
 */
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'

const MAX_ERRORS = 20

export const strictValidator: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema)
  const convert = httpPart !== 'body'
  return (data: unknown) => {
    const value = convert ? Value.Convert(schema, data) : (data ?? {})
    if (check.Check(value)) return { value }
    const errors: FastifySchemaValidationError[] = []
    for (const error of check.Errors(value)) {
      errors.push({ keyword: 'type', instancePath: error.path, schemaPath: '', params: {}, message: error.message })
      if (errors.length === MAX_ERRORS) break
    }
    return { error: errors }
  }
}

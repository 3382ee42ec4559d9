/**
 * Where a helper process or thread starts: the sibling module `name` (no extension). Running from
 * TypeScript sources (tests) it is the .ts file, started with the same loader flags as this
 * process; from dist/ it is the compiled .js with none (never --inspect or profiling flags).
 */
const LOADER_FLAGS = /^--(import|loader|experimental-loader|require|enable-source-maps)/

export function workerEntry(importMetaUrl: string, name: string): { readonly url: URL; readonly execArgv: string[] } {
  const fromSources = importMetaUrl.endsWith('.ts')
  return {
    url: new URL(`./${name}${fromSources ? '.ts' : '.js'}`, importMetaUrl),
    execArgv: fromSources ? process.execArgv.filter((flag) => LOADER_FLAGS.test(flag)) : [],
  }
}

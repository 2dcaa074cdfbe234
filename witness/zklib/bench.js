#!/usr/bin/env node
// Times node-zklib reading the whole attendance log from a clock over TCP.
// Usage: node bench.js --port N [--host 127.0.0.1] [--timeout ms]
// Prints one JSON line: {"client","records","seconds","records_per_s","mb_per_s","error"}.
'use strict'
const ZKLib = require('node-zklib')

async function main () {
  const a = { host: '127.0.0.1', port: 4370, timeout: 20000 }
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--host') a.host = argv[i + 1]
    else if (argv[i] === '--port') a.port = Number(argv[i + 1])
    else if (argv[i] === '--timeout') a.timeout = Number(argv[i + 1])
    else throw new Error(`unknown argument ${argv[i]}`)
  }
  const zk = new ZKLib(a.host, a.port, a.timeout, 0)
  const log = console.log
  console.log = () => {}
  try { await zk.createSocket() } finally { console.log = log }
  const t0 = process.hrtime.bigint()
  let res, error = null
  try {
    res = await zk.getAttendances()
    if (res.err) error = res.err.message
  } catch (e) {
    error = String(e && e.message ? e.message : e)
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  const n = res && res.data ? res.data.length : 0
  try { await zk.disconnect() } catch (e) {}
  console.log(JSON.stringify({ client: 'node-zklib@' + require('node-zklib/package.json').version, records: n, seconds: s, records_per_s: n / s, mb_per_s: n * 40 / s / 1e6, error }))
}
main().catch(e => { console.log(JSON.stringify({ error: String(e) })); process.exitCode = 2 })
  .finally(() => setTimeout(() => process.exit(process.exitCode), 100).unref())

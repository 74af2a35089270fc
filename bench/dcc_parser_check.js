// The DCC's own GBCS parser (@smartdcc/gbcs-parser) over the same messages as
// bench/gbcs_throughput.py's `gbhan gbcs check`, for the reference measured in the same run.
//
//   node bench/dcc_parser_check.js KEYS.json FILE...
//
// KEYS.json (written by the bench from the RTDS keystore): {"EUI": {"DS": {"public": PEM,
// "private": PEM}, "KA": {...}}}, EUIs as 16 upper-case hex digits. Each FILE holds one
// message as hex; the parser is given it as base64, as DUIS carries it, with a keystore
// callback as its README documents (eui, 'DS' | 'KA', privateKey?) -> KeyObject, so it
// checks every signature and MAC and decrypts what it can. Prints one JSON line: messages,
// how many parsed and how many threw, the seconds the parsing took (reading the files and
// loading the keys before it not counted; the bench times the whole process as well), of
// it the seconds spent on the messages that parsed, why the others threw (each reason with
// its count, EUIs written <EUI> so that one reason is one line) and which files threw (their
// indices in FILE..., so the bench can time the parser over the messages it parses whole).
// A message that throws stops where it threw: the parser did less work on it than on one
// it parsed, which is why the bench reports its rate over the parsed messages too.
'use strict'

const fs = require('node:fs')
const { createPrivateKey, createPublicKey } = require('node:crypto')
const { parseGbcsMessage } = require('@smartdcc/gbcs-parser')

function euiText(eui) {
  const hex = typeof eui === 'string' ? eui : Buffer.from(eui).toString('hex')
  return hex.replace(/[^0-9a-fA-F]/g, '').toUpperCase()
}

function keystoreFrom(path) {
  // PEMs parsed on first use and kept, as gbhan's keystore keeps what it loaded
  const pems = JSON.parse(fs.readFileSync(path, 'utf8'))
  const keys = new Map()
  return async (eui, type, privateKey) => {
    const name = `${euiText(eui)}/${type}/${privateKey ? 'private' : 'public'}`
    let key = keys.get(name)
    if (key === undefined) {
      const pem = pems[euiText(eui)]?.[type]?.[privateKey ? 'private' : 'public']
      if (pem === undefined) {
        throw new Error(`no ${privateKey ? 'private' : 'public'} ${type} key for ${euiText(eui)}`)
      }
      key = privateKey ? createPrivateKey(pem) : createPublicKey(pem)
      keys.set(name, key)
    }
    return key
  }
}

function reasonOf(error) {
  const text = error instanceof Error ? error.message : String(error)
  return text.replace(/\b[0-9A-Fa-f]{16}\b/g, '<EUI>').split('\n')[0].slice(0, 200)
}

async function main() {
  const [keysPath, ...files] = process.argv.slice(2)
  const keystore = keystoreFrom(keysPath)
  const messages = files.map((file) =>
    Buffer.from(fs.readFileSync(file, 'ascii').replace(/\s+/g, ''), 'hex').toString('base64'),
  )
  let parsed = 0
  let parsedNanos = 0n
  const reasons = {}
  const threwFiles = []
  const start = process.hrtime.bigint()
  for (const [index, message] of messages.entries()) {
    const begun = process.hrtime.bigint()
    try {
      await parseGbcsMessage(message, keystore)
      parsed += 1
      parsedNanos += process.hrtime.bigint() - begun
    } catch (error) {
      const reason = reasonOf(error)
      reasons[reason] = (reasons[reason] || 0) + 1
      threwFiles.push(index)
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  console.log(
    JSON.stringify({
      messages: messages.length,
      parsed,
      threw: threwFiles.length,
      seconds,
      parsed_seconds: Number(parsedNanos) / 1e9,
      reasons,
      threw_files: threwFiles,
    }),
  )
}

main().catch((error) => {
  console.error(error)
  process.exit(2)
})

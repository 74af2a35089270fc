// Sign (`sign`) or validate (`validate`) the DUIS document on stdin with the DCC's own
// signing tool (@smartdcc/duis-sign-wrap, which runs dccboxed-signing-tool's jar); the
// result on stdout; exit 10 with the tool's message on stderr when it refuses.
const { signDuis, validateDuis } = require('@smartdcc/duis-sign-wrap')

const mode = process.argv[2]
const chunks = []
process.stdin.on('data', (chunk) => chunks.push(chunk))
process.stdin.on('end', async () => {
  const xml = Buffer.concat(chunks)
  try {
    const out = mode === 'sign'
      ? await signDuis({ xml, preserveCounter: true })
      : await validateDuis({ xml })
    process.stdout.write(out)
  } catch (error) {
    process.stderr.write(String(error))
    process.exit(10)
  }
})

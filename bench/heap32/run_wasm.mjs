// The 32-bit figure: MicroPython's wasm32 port (npm @micropython/micropython-webassembly-pyscript,
// 1.27.0; `npm install` it beside this file) runs measure.py on the firmware's .mpy tree.
//   node bench/heap32/run_wasm.mjs <mpy tree>   (the tree: emulator.virtual_board.build_mpy_tree())
// The same measure.py on the unix port gives the 64-bit figure beside it:
//   cd <copy of the tree> && MICROPYPATH=.frozen:. micropython bench/heap32/measure.py .
import fs from "fs";
import path from "path";
import url from "url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";

const here = path.dirname(url.fileURLToPath(import.meta.url));
const tree = process.argv[2];
let out = "";
const mp = await loadMicroPython({ heapsize: 512 * 1024, stdout: (d) => { out += d; } });
function copy(src, dst) {
  mp.FS.mkdirTree(dst);
  for (const name of fs.readdirSync(src)) {
    const s = path.join(src, name), d = dst + "/" + name;
    if (fs.statSync(s).isDirectory()) copy(s, d); else mp.FS.writeFile(d, fs.readFileSync(s));
  }
}
copy(path.join(tree, "firmware"), "/fw/firmware");
mp.FS.mkdirTree("/fw/state");
mp.runPython("import sys; sys.path.insert(0, '/fw')");
mp.runPython(fs.readFileSync(path.join(here, "measure.py"), "utf8"));
process.stdout.write(out + "\n");

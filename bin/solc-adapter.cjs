#!/usr/bin/env node
// A `solc` command-line shim over solc-js, shaped for py-solc-x / ape-solidity.
//
// py-solc-x finds a compiler only as an executable named `solc-v<version>`; it
// calls `--version` and `--standard-json` (input on stdin).  This adapter
// answers both with the pinned solc-js build and survives three traps:
//   1. solc-js may print notices (SMT solver) with console.log: we route every
//      console call to stderr so stdout carries nothing but the JSON;
//   2. a large stdin from a pipe can fail with EAGAIN under readFileSync(0):
//      we read stdin as a stream;
//   3. stdout written then process.exit() can be truncated on a pipe: we write
//      with a loop that retries EAGAIN and never call process.exit().
'use strict';
const fs = require('fs');
const path = require('path');

// (1) keep stdout clean from the very first line, before solc-js loads.
for (const k of ['log', 'info', 'warn', 'debug']) {
  console[k] = (...args) => process.stderr.write(args.join(' ') + '\n');
}

const solc = require('solc');

function writeAll(fd, text) {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN') { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); continue; }
      throw e;
    }
  }
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, includePaths: [], allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const take = () => argv[++i];
    if (a === '--version') opts.version = true;
    else if (a === '--standard-json') opts.standardJson = true;
    else if (a === '--base-path') opts.basePath = take();
    else if (a.startsWith('--base-path=')) opts.basePath = a.slice(12);
    else if (a === '--include-path') opts.includePaths.push(take());
    else if (a.startsWith('--include-path=')) opts.includePaths.push(a.slice(15));
    else if (a === '--allow-paths') opts.allowPaths.push(...take().split(','));
    else if (a.startsWith('--allow-paths=')) opts.allowPaths.push(...a.slice(14).split(','));
    else if (a === '-') { /* stdin marker */ }
    else {
      process.stderr.write(`solc-adapter: unsupported argument '${a}' (only --version and --standard-json are supported)\n`);
      process.exitCode = 2;
      return null;
    }
  }
  return opts;
}

function makeImportCallback(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths, process.cwd()];
  return (importPath) => {
    for (const root of roots) {
      const p = path.resolve(root, importPath);
      if (fs.existsSync(p) && fs.statSync(p).isFile()) {
        return { contents: fs.readFileSync(p, 'utf8') };
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
  };
}

function readStdin(cb) {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => cb(Buffer.concat(chunks).toString('utf8')));
  process.stdin.on('error', (e) => { process.stderr.write(`solc-adapter: cannot read stdin: ${e.message}\n`); process.exitCode = 1; });
}

const opts = parseArgs(process.argv.slice(2));
if (opts) {
  if (opts.version) {
    writeAll(1, `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  } else if (opts.standardJson) {
    readStdin((input) => {
      const out = solc.compile(input, { import: makeImportCallback(opts) });
      writeAll(1, out);
    });
  } else {
    process.stderr.write('solc-adapter: pass --version or --standard-json\n');
    process.exitCode = 2;
  }
}

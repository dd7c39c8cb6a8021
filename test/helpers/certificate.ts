// A throwaway self-signed certificate, made with openssl(1), for stand-in servers that vsop must trust
// by name (it is its own CA: put the certificate in the kubeconfig's certificate-authority-data).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `names`: DNS names and IP addresses the certificate is good for. */
export function selfSigned(names: string[]): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'vsop-tls-'));
  try {
    const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-keyout', 'key.pem', '-out', 'cert.pem'];
    const made = spawnSync('openssl', [...args, '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`], { cwd: dir, encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl could not make a test certificate (apt-get install openssl): ${made.error?.message ?? made.stderr}`);
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Credentials of the test cluster: a static token file for the apiserver and
// kubeconfig files for kubectl, vsop and @kubernetes/client-node.

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

export type User = { name: string; token: string; groups: string[] };

export function newToken(): string {
  return randomBytes(24).toString('hex');
}

/**
 * The --token-auth-file format: token,user,uid,"group1,group2". A user named
 * like a ServiceAccount (system:serviceaccount:NS:NAME) gets that account's
 * groups, so RBAC bindings to a ServiceAccount apply to it.
 */
export function tokenFile(users: User[]): string {
  return users.map((u) => `${u.token},${u.name},${u.name},"${groupsOf(u).join(',')}"`).join('\n') + '\n';
}

function groupsOf(user: User): string[] {
  const sa = /^system:serviceaccount:([^:]+):[^:]+$/.exec(user.name);
  return sa ? [...user.groups, 'system:serviceaccounts', `system:serviceaccounts:${sa[1]}`] : user.groups;
}

/** Writes a kubeconfig with one context per user, named after the user; the first is current. */
export function writeKubeconfig(path: string, server: string, caPem: string, users: { context: string; token: string }[]): void {
  const first = users[0];
  if (!first) throw new Error('writeKubeconfig: no users');
  const ca = Buffer.from(caPem).toString('base64');
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: vsop-test',
    '    cluster:',
    `      server: ${server}`,
    `      certificate-authority-data: ${ca}`,
    'users:',
    ...users.flatMap((u) => [`  - name: ${u.context}`, '    user:', `      token: ${u.token}`]),
    'contexts:',
    ...users.flatMap((u) => [`  - name: ${u.context}`, '    context:', '      cluster: vsop-test', `      user: ${u.context}`, '      namespace: default']),
    `current-context: ${first.context}`,
  ];
  writeFileSync(path, lines.join('\n') + '\n', { mode: 0o600 });
}

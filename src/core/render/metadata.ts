// The metadata of every object vsop renders per production Service, whatever its kind.

import { MANAGED_LABEL, MANAGED_VALUE, SERVICE_ANNOTATION } from '../ownership.ts';
import type { ObjectMeta } from '../types.ts';

/**
 * The template's metadata (rendered for the Service) with the object's name and namespace, the managed
 * label and the annotation naming the production Service, plus vsop's other annotations (`extra`).
 */
export function managedMetadata(template: ObjectMeta, name: string, namespace: string, service: string, extra: Record<string, string> = {}): ObjectMeta {
  const { name: _name, namespace: _namespace, labels, annotations, ...rest } = template;
  return {
    name,
    namespace,
    ...rest,
    labels: { ...labels, [MANAGED_LABEL]: MANAGED_VALUE },
    annotations: { ...annotations, [SERVICE_ANNOTATION]: service, ...extra },
  };
}

/**
 * The container and Kubernetes files, checked without a Docker engine or a cluster: the Dockerfile through
 * dockerfile-utils' validator and dockerfile-ast, the manifests against the Kubernetes API's own schemas
 * (kubernetes-models' validators, generated from the official OpenAPI definitions), and the ConfigMap's YAML
 * through the gateway's own config loader.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadGatewayConfig } from '../src/index.js';
import { type TempDir, tempDir } from './support.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const K8S = here('../deploy/k8s/');

async function manifest(name: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(`${K8S}${name}`, 'utf8');
  return parseAllDocuments(text).map((doc) => {
    expect(doc.errors).toEqual([]);
    return doc.toJS() as Record<string, unknown>;
  });
}

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked by schema first, then read freely.
type Any = any;

describe('Dockerfile', () => {
  let text: string;
  let instructions: Instruction[];
  beforeAll(async () => {
    text = await readFile(here('../Dockerfile'), 'utf8');
    instructions = DockerfileParser.parse(text).getInstructions();
  });

  it('passes dockerfile-utils validation with no diagnostics', () => {
    expect(validateDockerfile(text)).toEqual([]);
  });

  it('is multi-stage and runs the final stage as the non-root node user', () => {
    const froms = instructions.filter((i) => i.getKeyword() === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const finalStart = instructions.lastIndexOf(froms.at(-1)!);
    const final = instructions.slice(finalStart);
    const users = final.filter((i) => i.getKeyword() === 'USER').map((i) => i.getArgumentsContent());
    expect(users).toEqual(['node']);
    // Nothing after USER switches back to root.
    const userIndex = final.findIndex((i) => i.getKeyword() === 'USER');
    expect(final.slice(userIndex + 1).some((i) => i.getKeyword() === 'RUN')).toBe(false);
    // The runtime copies the pruned deployment from the build stage, nothing from the build context.
    const copies = final.filter((i) => i.getKeyword() === 'COPY').map((i) => i.getTextContent());
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) expect(copy).toMatch(/--from=build/);
    expect(text).toMatch(/pnpm deploy --filter=@integrations\/gateway --prod/);
  });

  it('has a HEALTHCHECK on the liveness route and runs the gateway', () => {
    const healthcheck = instructions.find((i) => i.getKeyword() === 'HEALTHCHECK');
    expect(healthcheck?.getArgumentsContent()).toContain('/integrations/health/live');
    const entrypoint = instructions.find((i) => i.getKeyword() === 'ENTRYPOINT');
    expect(entrypoint?.getArgumentsContent()).toBe('["node", "dist/main.js"]');
  });
});

describe('Kubernetes manifests', () => {
  it('are valid against the Kubernetes API schemas', async () => {
    const [deployment] = await manifest('deployment.yaml');
    const [service] = await manifest('service.yaml');
    const [configMap] = await manifest('configmap.yaml');
    expect(() => new Deployment(deployment as Any).validate()).not.toThrow();
    expect(() => new Service(service as Any).validate()).not.toThrow();
    expect(() => new ConfigMap(configMap as Any).validate()).not.toThrow();
  });

  it('the schema check catches mistakes (so a pass means something)', async () => {
    const [deployment] = (await manifest('deployment.yaml')) as Any[];
    const wrongType = structuredClone(deployment);
    wrongType.spec.replicas = 'three';
    expect(() => new Deployment(wrongType).validate()).toThrow(/replicas/);
    const missing = structuredClone(deployment);
    delete missing.spec.template.spec.containers[0].name;
    expect(() => new Deployment(missing).validate()).toThrow(/name/);
  });

  it('runs 3 non-root replicas with probes on the health routes, resources and secrets by reference', async () => {
    const [deployment] = (await manifest('deployment.yaml')) as Any[];
    expect(deployment.spec.replicas).toBe(3);
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    const [container] = pod.containers;
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.readinessProbe.httpGet.path).toBe('/integrations/health/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/integrations/health/live');
    expect(container.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits.memory).toEqual(expect.any(String));
    // Every secret comes from a Secret by reference; no value is written here.
    const secrets = container.env.filter((e: Any) => e.valueFrom?.secretKeyRef);
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    for (const entry of secrets) expect(entry.value).toBeUndefined();
    for (const file of ['deployment.yaml', 'service.yaml', 'configmap.yaml', 'kustomization.yaml']) {
      const kinds = (await manifest(file)).map((doc) => doc.kind);
      expect(kinds).not.toContain('Secret');
    }
    // The shutdown grace period outlasts the gateway's own drain.
    const drainMs = Number(container.env.find((e: Any) => e.name === 'INTEGRATIONS_SHUTDOWN_GRACE_MS').value);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs);
  });

  it('routes the Service to the Deployment’s pods and named port', async () => {
    const [deployment] = (await manifest('deployment.yaml')) as Any[];
    const [service] = (await manifest('service.yaml')) as Any[];
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(deployment.spec.selector.matchLabels).toMatchObject(service.spec.selector);
    const ports = deployment.spec.template.spec.containers[0].ports.map((p: Any) => p.name);
    expect(ports).toContain(service.spec.ports[0].targetPort);
  });

  describe('the ConfigMap', () => {
    let dir: TempDir;
    beforeAll(async () => {
      dir = await tempDir();
    });
    afterAll(async () => {
      await dir?.remove();
    });

    it('holds a config the gateway loads, with every variable it references set by the Deployment', async () => {
      const [configMap] = (await manifest('configmap.yaml')) as Any[];
      const [deployment] = (await manifest('deployment.yaml')) as Any[];
      const yaml: string = configMap.data['integrations.yaml'];
      const referenced = [...yaml.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)].map((m) => m[1]!);
      const provided = new Set(deployment.spec.template.spec.containers[0].env.map((e: Any) => e.name));
      for (const name of referenced) expect(provided).toContain(name);

      const file = await dir.write('integrations.yaml', yaml);
      const env = Object.fromEntries(referenced.map((name) => [name, `${name.toLowerCase()}-0123456789abcdef`]));
      env.STRIPE_SECRET_KEY = 'sk_test_configmap_0123456789';
      const config = await loadGatewayConfig({ file, environment: 'production', env });
      expect(config.server).toMatchObject({ host: '0.0.0.0', port: 8080 });
      expect(config.integrations.map((i) => i.connector.id).sort()).toEqual(['aws-s3', 'gcp-bigquery', 'stripe']);
    });
  });
});

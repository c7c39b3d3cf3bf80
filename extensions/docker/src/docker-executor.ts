import { ApflowError, defineExecutor, Type } from 'apflow';
import { Env, Resources, containerSpec } from './container-spec.ts';
import { checkEnabled, socketPath, type DockerSettings } from './docker-settings.ts';
import { EngineApi } from './engine-api.ts';
import { checkImage, parseImage } from './image-policy.ts';
import { checkMounts, Volumes } from './mount-policy.ts';
import { pullPolicy } from './pull-image.ts';
import { runContainer } from './run-container.ts';

/** Seconds a run may take when the task gives no `timeout`. */
export const DEFAULT_TIMEOUT_S = 60;

const Inputs = Type.Object({
  image: Type.String({
    pattern: '^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$',
    maxLength: 512,
    description: 'The image; it must be allowed by docker.images',
  }),
  command: Type.Optional(
    Type.Union([
      Type.String({ minLength: 1, description: 'Run by /bin/sh -c' }),
      Type.Array(Type.String(), { minItems: 1, description: 'Run as given (no shell)' }),
    ]),
  ),
  env: Type.Optional(Env),
  secret_env: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: 'Environment variables holding secrets: stored sealed, *** in results and errors',
    }),
  ),
  volumes: Type.Optional(Volumes),
  working_dir: Type.Optional(Type.String({ minLength: 1 })),
  timeout: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: `Seconds (default ${DEFAULT_TIMEOUT_S})` })),
  remove: Type.Optional(Type.Boolean({ default: true, description: 'Remove the container once it has ended' })),
  resources: Type.Optional(Resources),
  pull: Type.Optional(
    Type.Union([Type.Boolean(), Type.Literal('missing'), Type.Literal('always'), Type.Literal('never')], {
      description: "'missing' (default): pull when the Engine lacks the image; 'always'/true; 'never'/false",
    }),
  ),
});

/** Where the executor finds its settings: those of the generation that registered it. */
export interface DockerExecutorDeps {
  settings: DockerSettings;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * `docker_executor`: runs a command in a new container through the Docker Engine API and returns
 * its exit code and output. Off unless `docker.enabled`; images and host mounts are allow-listed.
 */
export function createDockerExecutor({ settings, env }: DockerExecutorDeps) {
  return defineExecutor({
    id: 'docker_executor',
    name: 'Docker container',
    description:
      'Runs a command in a container (image, command, env, volumes, working_dir, timeout, remove, resources, pull) and returns exit_code, logs, stdout, stderr',
    inputSchema: Inputs,
    secretInputs: ['secret_env'],
    async execute(inputs, ctx) {
      checkEnabled(settings);
      const image = checkImage(inputs.image, settings.images);
      const mounts = await checkMounts(inputs.volumes, settings.mounts);
      const timeoutS = inputs.timeout ?? DEFAULT_TIMEOUT_S;
      if (timeoutS > settings.max_timeout) {
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: `docker_executor: timeout ${timeoutS}s is over docker.max_timeout (${settings.max_timeout}s)`,
        });
      }
      const labels = { 'apflow.task_id': ctx.task_id, 'apflow.executor': 'docker_executor' };
      const spec = containerSpec({ ...inputs, image: image.full }, mounts, settings.network, labels);
      const outcome = await runContainer(
        {
          api: new EngineApi(socketPath(settings, env)),
          image,
          pull: pullPolicy(inputs.pull),
          spec,
          timeoutS,
          remove: inputs.remove ?? true,
          maxLogBytes: settings.max_log_bytes,
        },
        ctx,
      );
      return { ...outcome, image: image.full, log_limit_bytes: settings.max_log_bytes };
    },
    demoResult(inputs) {
      const image = typeof inputs.image === 'string' ? parseImage(inputs.image).full : 'alpine:latest';
      const logs = `[demo] docker_executor did not run ${image}: this is a demo result\n`;
      return {
        exit_code: 0,
        success: true,
        logs,
        stdout: logs,
        stderr: '',
        truncated: false,
        container_id: 'demo0000000000000000000000000000000000000000000000000000000000',
        oom_killed: false,
        image,
        log_limit_bytes: settings.max_log_bytes,
      };
    },
  });
}

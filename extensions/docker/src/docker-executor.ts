import { ApflowError, defineExecutor, Type } from 'apflow';
import { Env, Resources, containerSpec, memoryBytes, type HostLimits } from './container-spec.ts';
import { checkEnabled, MAX_TIMEOUT_S, socketPath, type DockerSettings } from './docker-settings.ts';
import { EngineApi } from './engine-api.ts';
import { checkImage, imageMatchers, parseImage } from './image-policy.ts';
import { checkMounts, Volumes } from './mount-policy.ts';
import { pullPolicy } from './pull-image.ts';
import { runContainer } from './run-container.ts';

/** Smallest cap of a container's log file on the Engine's disk. */
const LOG_FILE_MIN_BYTES = 1024 * 1024;

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
  timeout: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_TIMEOUT_S,
      description: `Seconds for the whole run, pull included (default ${DEFAULT_TIMEOUT_S}, at most docker.max_timeout)`,
    }),
  ),
  remove: Type.Optional(
    Type.Boolean({
      default: true,
      description: 'Remove the container once it has ended (false keeps it; not with secret_env)',
    }),
  ),
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
  imageMatchers(settings.images); // a malformed docker.images pattern fails the start, not each run
  const limits: HostLimits = {
    network: settings.network,
    pidsLimit: settings.pids_limit,
    maxMemory: memoryBytes(settings.max_memory),
    maxCpus: settings.max_cpus,
    // json-file wraps every line in JSON, so the file needs room beyond the output kept.
    logFileBytes: Math.max(2 * settings.max_log_bytes, LOG_FILE_MIN_BYTES),
  };
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
      const remove = inputs.remove ?? true;
      if (!remove && Object.keys(inputs.secret_env ?? {}).length > 0) {
        throw new ApflowError('APF_INVALID_PARAMS', {
          message:
            'docker_executor: remove: false would keep the container, and the secret_env values in its config in plain text (docker inspect shows them); drop remove: false, or pass no secret_env',
        });
      }
      const timeoutS = inputs.timeout ?? DEFAULT_TIMEOUT_S;
      if (timeoutS > settings.max_timeout) {
        throw new ApflowError('APF_INVALID_PARAMS', {
          message: `docker_executor: timeout ${timeoutS}s is over docker.max_timeout (${settings.max_timeout}s)`,
        });
      }
      const labels = { 'apflow.task_id': ctx.task_id, 'apflow.executor': 'docker_executor' };
      const specOf = async () =>
        containerSpec(
          { ...inputs, image: image.full },
          await checkMounts(inputs.volumes, settings.mounts),
          limits,
          labels,
        );
      await specOf(); // every refusal before the Engine is reached; checked again right before the create

      const outcome = await runContainer(
        {
          api: new EngineApi(socketPath(settings, env)),
          image,
          pull: pullPolicy(inputs.pull),
          spec: specOf,
          timeoutS,
          remove,
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

import { definePlugin } from 'apflow';
import { createDockerExecutor } from './docker-executor.ts';
import { DockerSettings } from './docker-settings.ts';

export { createDockerExecutor, DEFAULT_TIMEOUT_S } from './docker-executor.ts';
export { DockerSettings, DEFAULT_MAX_LOG_BYTES, DEFAULT_SOCKET } from './docker-settings.ts';

/**
 * `@apflow/docker`: `docker_executor`, a command in a container through the Docker Engine API on
 * its unix socket. Off unless the config says `docker: { enabled: true }`; images (`docker.images`)
 * and host mounts (`docker.mounts`) are allow-listed; containers get `docker.network` (`none`).
 */
export default definePlugin({
  name: 'docker',
  version: '0.1.0',
  description: 'docker_executor: runs a command in a container (off unless docker.enabled)',
  config: { key: 'docker', schema: DockerSettings },
  setup(app) {
    app.executors.register(createDockerExecutor({ settings: app.settings, env: app.env }));
    if (app.settings.enabled) {
      app.log.info(
        { images: app.settings.images, mounts: app.settings.mounts.length, network: app.settings.network },
        'docker_executor enabled',
      );
    }
  },
});

import { V03PushNotificationSerializer } from '@a2a-js/sdk/compat/v0_3/server';
import { V1PushNotificationSerializer } from '@a2a-js/sdk/server';

// What push-service.ts takes from the SDK, in one module it imports on first use.
export { invalidParams } from './errors.ts';
export { treeUpdates } from './task-updates.ts';

/** A push notification's body, as the protocol version its config was set with has it. */
export const serializers = { '1.0': new V1PushNotificationSerializer(), '0.3': new V03PushNotificationSerializer() };

/** The executor's id: every message of the executor starts with it. */
export const ID = 'grpc_executor';

/**
 * Groups calls: the items of calls made while a group is under way (or in the same tick) go
 * together into the next single call of `run`, which answers each item in order. This is how
 * concurrent writes share one transaction and one statement instead of queueing one by one. If a
 * group of several fails, each item is tried alone, so one bad item fails only its own caller.
 */
export function groupCalls<I, O>(run: (items: readonly I[]) => Promise<O[]>): (item: I) => Promise<O> {
  type Waiting = { item: I; resolve: (value: O) => void; reject: (error: unknown) => void };
  // `run` answers every item, in order (its contract): the answer at an item's index is its own.
  const answerAt = (answers: O[], i: number) => answers[i] as O;
  let waiting: Waiting[] = [];
  let busy = false;

  const alone = async (entry: Waiting) => {
    try {
      entry.resolve(answerAt(await run([entry.item]), 0));
    } catch (error) {
      entry.reject(error);
    }
  };
  const flush = async () => {
    busy = true;
    while (waiting.length > 0) {
      const group = waiting;
      waiting = [];
      try {
        const answers = await run(group.map((entry) => entry.item));
        group.forEach((entry, i) => entry.resolve(answerAt(answers, i)));
      } catch (error) {
        const [first, ...others] = group;
        if (first && others.length === 0) first.reject(error);
        else for (const entry of group) await alone(entry);
      }
    }
    busy = false;
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!busy) {
        busy = true;
        queueMicrotask(() => void flush());
      }
    });
}

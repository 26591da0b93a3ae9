import { limitConcurrency } from '../../src/utils/limit-concurrency';

describe('limiting concurrency', () => {
  it('when five tasks arrive with a limit of two, then at most two run at once and all finish in arrival order', async () => {
    const limited = limitConcurrency(2);
    const releases: Array<() => void> = [];
    const started: number[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const results = [0, 1, 2, 3, 4].map((n) =>
      limited(async () => {
        started.push(n);
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        return n;
      }),
    );
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    await settle();
    expect(started).toEqual([0, 1]);
    while (releases.length > 0) {
      releases.shift()!();
      await settle();
    }

    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(mostAtOnce).toBe(2);
  });

  it('when a task fails, then its slot passes on and the next task still runs', async () => {
    const limited = limitConcurrency(1);
    const failed = limited(() => Promise.reject(new Error('boom')));
    const next = limited(() => Promise.resolve('ran'));

    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ran');
  });
});

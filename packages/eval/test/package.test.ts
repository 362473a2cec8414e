import { expect, it } from 'vitest';
import { PACKAGE_NAME } from '../src/index.js';
it('names itself', () => expect(PACKAGE_NAME).toBe('@hpf/eval'));

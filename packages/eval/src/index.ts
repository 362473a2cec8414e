export const PACKAGE_NAME = '@hpf/eval';

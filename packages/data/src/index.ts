export const PACKAGE_NAME = '@hpf/data';

import { describe, expect, test } from 'vitest'
import { DENIED_SYSCALLS, buildSeccompFilter } from './seccomp-filter.js'

/** Runs the classic-BPF program the way the kernel does, for one syscall. */
function verdict(program: Buffer, nr: number, arch = 0xc000003e, arg0 = 0): number {
  const data = { 0: nr, 4: arch, 16: arg0 } as Record<number, number>
  let acc = 0
  for (let pc = 0; pc < program.length / 8;) {
    const code = program.readUInt16LE(pc * 8)
    const jt = program.readUInt8(pc * 8 + 2)
    const jf = program.readUInt8(pc * 8 + 3)
    const k = program.readUInt32LE(pc * 8 + 4)
    switch (code) {
      case 0x20:
        acc = data[k] ?? 0
        pc++
        break
      case 0x15:
        pc += 1 + (acc === k ? jt : jf)
        break
      case 0x35:
        pc += 1 + (acc >= k ? jt : jf)
        break
      case 0x45:
        pc += 1 + ((acc & k) !== 0 ? jt : jf)
        break
      case 0x06:
        return k
      default:
        throw new Error(`unknown opcode ${code}`)
    }
  }
  throw new Error('fell off the end of the program')
}

const ALLOW = 0x7fff0000
const EPERM = 0x00050001
const ENOSYS = 0x00050026
const KILL = 0x80000000

describe('the seccomp deny-list', () => {
  const program = buildSeccompFilter()

  test('is whole sock_filter instructions', () => {
    expect(program.length % 8).toBe(0)
  })

  test('refuses every listed syscall with EPERM and allows the ordinary ones', () => {
    for (const nr of Object.values(DENIED_SYSCALLS)) {
      expect(verdict(program, nr)).toBe(EPERM)
    }
    for (const nr of [0, 1, 2, 9, 57, 59, 231]) {
      expect(verdict(program, nr)).toBe(ALLOW) // read, write, open, mmap, fork, execve, exit_group
    }
  })

  test('clone with CLONE_NEWUSER is refused, threads and forks are not; clone3 is ENOSYS', () => {
    expect(verdict(program, 56, undefined, 0x10000000 | 0x11)).toBe(EPERM)
    expect(verdict(program, 56, undefined, 0x3d0f00)).toBe(ALLOW) // pthread_create's flags
    expect(verdict(program, 435)).toBe(ENOSYS)
  })

  test('foreign ABIs are killed: i386 and x32 numbers mean other syscalls', () => {
    expect(verdict(program, 1, 0x40000003)).toBe(KILL)
    expect(verdict(program, 0x40000000 + 272)).toBe(KILL)
  })
})

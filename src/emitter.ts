// A tiny typed event emitter. A listener that throws never breaks inpage or other listeners.

export type Listener<T> = (payload: T) => void

export class Emitter<Events extends object> {
  private listeners = new Map<keyof Events, Set<Listener<never>>>()

  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(name)
    if (!set) this.listeners.set(name, (set = new Set()))
    set.add(listener as Listener<never>)
    return () => set.delete(listener as Listener<never>)
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    for (const l of this.listeners.get(name) ?? []) {
      try {
        ;(l as Listener<Events[K]>)(payload)
      } catch (err) {
        queueMicrotask(() => {
          throw err // surface the host's bug where it belongs, not inside inpage
        })
      }
    }
  }

  clear() {
    this.listeners.clear()
  }
}

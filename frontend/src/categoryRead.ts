// One category's answer that follows the category and its latest run: the data, or the API's error in words.
import { ref, watch, type Ref } from 'vue'
import { ApiError } from './api'

export interface CategoryRead<T> {
  data: Ref<T | null>
  error: Ref<string | null>
}

/** Read `read(category)` now and again whenever the category or its runs' version (`source`) changes. */
export function useCategoryRead<T>(source: () => [string, string], read: (category: string) => Promise<T>): CategoryRead<T> {
  const data = ref(null) as Ref<T | null>
  const error = ref<string | null>(null)
  watch(source, async ([category]) => {
    error.value = null
    try {
      data.value = await read(category)
    } catch (exc) {
      data.value = null
      error.value = exc instanceof ApiError ? exc.message : String(exc)
    }
  }, { immediate: true })
  return { data, error }
}

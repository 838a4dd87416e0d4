# Runs the CLI with bad arguments (cmake -DCLI=... -DARGS="a;b" -P expect_usage_error.cmake) and
# passes only when it exits non-zero, prints the usage message on stderr and nothing on stdout.
execute_process(COMMAND ${CLI} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "exit status 0 for '${ARGS}'")
endif()
if(NOT err MATCHES "usage: ")
  message(FATAL_ERROR "no usage message on stderr for '${ARGS}':\n${err}")
endif()
if(NOT out STREQUAL "")
  message(FATAL_ERROR "unexpected stdout for '${ARGS}':\n${out}")
endif()
message(STATUS "rejected (exit ${rc}): ${err}")

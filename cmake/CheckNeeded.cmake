cmake_minimum_required(VERSION 3.22)
# cmake -DBINARY=... -DOBJDUMP=... -DFORBIDDEN=regex -P CheckNeeded.cmake
# Fails when BINARY needs a shared library matching FORBIDDEN.
execute_process(COMMAND ${OBJDUMP} -p ${BINARY} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "objdump -p ${BINARY} failed")
endif()
string(REGEX MATCHALL "NEEDED +[^\n]+" needed "${out}")
foreach(n ${needed})
  if(n MATCHES "${FORBIDDEN}")
    message(FATAL_ERROR "${BINARY}: must not link ${n} (layering: aigwctl uses control only)")
  endif()
endforeach()
